"""The ratings table: one row per (user, diagram); writing again replaces the score."""

from __future__ import annotations

import sqlite3
import time

from engine.store.db import Database


class Ratings:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert(self, user_id: str, diagram_id: str, score: int) -> bool:
        """Set the user's score for the diagram; False when there is no such diagram.

        One statement, so atomic on its own: the row is inserted only if the diagram exists,
        and a second write for the same (user, diagram) replaces the score."""
        changed = await self.db.write(
            "INSERT INTO ratings (user_id, diagram_id, score, updated)"
            " SELECT ?, id, ?, ? FROM diagrams WHERE id = ?"
            " ON CONFLICT (user_id, diagram_id)"
            " DO UPDATE SET score = excluded.score, updated = excluded.updated",
            (user_id, score, time.time(), diagram_id),
        )
        return changed > 0

    async def delete(self, user_id: str, diagram_id: str) -> bool:
        changed = await self.db.write(
            "DELETE FROM ratings WHERE user_id = ? AND diagram_id = ?", (user_id, diagram_id)
        )
        return changed > 0

    async def get(self, user_id: str, diagram_id: str) -> sqlite3.Row | None:
        return await self.db.fetchone(
            "SELECT * FROM ratings WHERE user_id = ? AND diagram_id = ?", (user_id, diagram_id)
        )

    async def count(self) -> int:
        return int(await self.db.scalar("SELECT COUNT(*) FROM ratings"))

    async def users(self) -> int:
        return int(await self.db.scalar("SELECT COUNT(DISTINCT user_id) FROM ratings"))

    async def all(self) -> list[sqlite3.Row]:
        return await self.db.fetchall("SELECT user_id, diagram_id, score FROM ratings")

    async def mean_by_image(self) -> list[tuple[str, float, int]]:
        """(image hash, mean score, number of ratings) of every rated, rendered diagram."""
        rows = await self.db.fetchall(
            "SELECT d.image, AVG(r.score), COUNT(*) FROM ratings r"
            " JOIN diagrams d ON d.id = r.diagram_id WHERE d.image IS NOT NULL GROUP BY d.id"
        )
        return [(r[0], float(r[1]), int(r[2])) for r in rows]
