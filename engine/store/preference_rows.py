"""What preference pairs are built from: every stored candidate with its prompt, and every
rating (engine/service/preferences.py pairs them)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Written:
    """One stored candidate."""

    diagram_id: str
    request_id: str
    prompt: str
    text: str
    valid: bool
    natural_stop: bool | None
    readability: float | None
    rank: int | None  # 1.. for the candidates shown, None otherwise


@dataclass(frozen=True)
class Rating:
    user_id: str
    diagram_id: str
    score: int


def read_rows(db_path: Path) -> tuple[list[Written], list[Rating]]:
    """Candidates and ratings from an engine database, read-only (the engine may be running:
    WAL lets us read while it writes)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        written = [
            Written(r[0], r[1], r[2], r[3], bool(r[4]), _bool(r[5]), r[6], r[7])
            for r in conn.execute(
                "SELECT d.id, d.request_id, COALESCE(q.prompt, q.description), d.text, d.valid,"
                " d.natural_stop, d.readability, d.rank FROM diagrams d"
                " JOIN requests q ON q.id = d.request_id ORDER BY d.request_id, d.position"
            )
        ]
        ratings = [
            Rating(*r) for r in conn.execute("SELECT user_id, diagram_id, score FROM ratings")
        ]
    finally:
        conn.close()
    return written, ratings


def _bool(x: int | None) -> bool | None:
    return None if x is None else bool(x)
