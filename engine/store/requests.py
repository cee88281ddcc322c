"""The requests table: one row per POST /v1/diagrams, from queued to its outcome."""

from __future__ import annotations

import sqlite3
import time

from engine.store.db import Database

# Statuses a request ends in; "queued" is the only open one.
FINAL = ("done", "failed", "timeout", "cancelled", "refused", "interrupted")


class Requests:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self, request_id: str, user_id: str, description: str, candidates: int, top: int
    ) -> None:
        await self.db.write(
            "INSERT INTO requests (id, user_id, description, candidates, top, status, created)"
            " VALUES (?, ?, ?, ?, ?, 'queued', ?)",
            (request_id, user_id, description, candidates, top, time.time()),
        )

    async def close(self, request_id: str, status: str, error: str | None = None) -> None:
        """Record how an unanswered request ended (timeout, cancelled, ...)."""
        if status not in FINAL:
            raise ValueError(f"not a final status: {status}")
        now = time.time()
        await self.db.write(
            "UPDATE requests SET status = ?, error = ?, finished = ?,"
            " latency_ms = (? - created) * 1000 WHERE id = ? AND status = 'queued'",
            (status, error, now, now, request_id),
        )

    async def recover(self) -> int:
        """After a crash: requests that were still open will never be answered."""
        return await self.db.write(
            "UPDATE requests SET status = 'interrupted', error = 'the engine stopped',"
            " finished = ? WHERE status = 'queued'",
            (time.time(),),
        )

    async def get(self, request_id: str) -> sqlite3.Row | None:
        return await self.db.fetchone("SELECT * FROM requests WHERE id = ?", (request_id,))

    async def counts(self) -> dict[str, int]:
        rows = await self.db.fetchall("SELECT status, COUNT(*) FROM requests GROUP BY status")
        return {r[0]: r[1] for r in rows}

    async def recent_latencies(self, limit: int = 1000) -> list[float]:
        """Latencies (ms) of the latest answered requests, newest first."""
        rows = await self.db.fetchall(
            "SELECT latency_ms FROM requests WHERE status = 'done' ORDER BY finished DESC LIMIT ?",
            (limit,),
        )
        return [r[0] for r in rows]
