"""Shared test setup: keep every test offline and on the CPU."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
# Two shared cores: one torch thread per test process is ~10x faster than two spinning.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("DIAGRAMMER_THREADS", "1")
