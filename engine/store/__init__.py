"""Storage: SQLite (WAL, migrations, transactions) for requests, diagrams, ratings, model
versions and jobs; rendered images as content-addressed files; the trained scorer versions
in use (scorers.py)."""

from engine.store.store import Store

__all__ = ["Store"]
