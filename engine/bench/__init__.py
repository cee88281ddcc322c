"""Benchmarks behind `diagrammer bench ...` that need more than a command module."""
