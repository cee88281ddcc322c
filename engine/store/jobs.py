"""The jobs table: every scheduled or requested rebuild and how it ended."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from engine.store.db import Database


class Jobs:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, what: str, trigger: str) -> int:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO jobs (what, trigger, status, created) VALUES (?, ?, 'queued', ?)",
                (what, trigger, time.time()),
            )
            return int(cur.lastrowid)

    async def start(self, job_id: int) -> None:
        await self.db.write(
            "UPDATE jobs SET status = 'running', started = ? WHERE id = ?", (time.time(), job_id)
        )

    async def finish(self, job_id: int, result: dict[str, Any]) -> None:
        await self.db.write(
            "UPDATE jobs SET status = 'done', finished = ?, result = ? WHERE id = ?",
            (time.time(), json.dumps(result), job_id),
        )

    async def fail(self, job_id: int, error: str, result: dict[str, Any] | None = None) -> None:
        await self.db.write(
            "UPDATE jobs SET status = 'failed', finished = ?, error = ?, result = ? WHERE id = ?",
            (time.time(), error, None if result is None else json.dumps(result), job_id),
        )

    async def recover(self) -> int:
        """After a crash: jobs that were queued or running never finished."""
        return await self.db.write(
            "UPDATE jobs SET status = 'failed', finished = ?, error = 'the engine stopped'"
            " WHERE status IN ('queued', 'running')",
            (time.time(),),
        )

    async def get(self, job_id: int) -> dict[str, Any] | None:
        row = await self.db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return None if row is None else _as_dict(row)

    async def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = await self.db.fetchall("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,))
        return [_as_dict(r) for r in rows]

    async def last_part(self, part: str, flag: str) -> dict[str, Any] | None:
        """The newest result of `part` whose `flag` is true, whether it ran alone or within
        an "all" job (even one that failed in another part)."""
        row = await self.db.fetchone(
            "SELECT what, result FROM jobs WHERE"
            " (what = ? AND json_extract(result, '$.' || ?) = 1)"
            " OR (what = 'all' AND json_extract(result, '$.' || ? || '.' || ?) = 1)"
            " ORDER BY id DESC LIMIT 1",
            (part, flag, part, flag),
        )
        if row is None:
            return None
        result = json.loads(row["result"])
        return result if row["what"] == part else result[part]


def _as_dict(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    out["result"] = json.loads(out["result"]) if out["result"] else None
    return out
