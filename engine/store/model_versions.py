"""Model versions (LoRA adapters) and their promotion history.

The version served is the newest promotion that was not rolled back; with none, the
built-in model ("base"). Rolling back marks the newest promotion undone, which makes the
one before it (or base) current again, so a rollback can itself be repeated.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from engine.store.db import Database

BASE = "base"

_SERVING = (
    "SELECT p.id, p.version, m.adapter FROM promotions p JOIN model_versions m"
    " ON m.version = p.version WHERE p.rolled_back IS NULL ORDER BY p.id DESC LIMIT 1"
)


class ModelVersions:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def ensure_base(self) -> None:
        await self.db.write(
            "INSERT OR IGNORE INTO model_versions (version, created) VALUES (?, ?)",
            (BASE, time.time()),
        )

    async def add(
        self,
        version: str,
        adapter: str | None,
        parent: str | None,
        metrics: dict[str, Any],
        gate_passed: bool | None,
    ) -> None:
        await self.db.write(
            "INSERT INTO model_versions (version, adapter, parent, metrics, gate_passed,"
            " created) VALUES (?, ?, ?, ?, ?, ?)",
            (version, adapter, parent, json.dumps(metrics), gate_passed, time.time()),
        )

    async def get(self, version: str) -> sqlite3.Row | None:
        return await self.db.fetchone("SELECT * FROM model_versions WHERE version = ?", (version,))

    async def serving(self) -> tuple[str, str | None]:
        """(version, adapter directory or None for the built-in model)."""
        row = await self.db.fetchone(_SERVING)
        return (BASE, None) if row is None else (row["version"], row["adapter"])

    async def promote(self, version: str) -> None:
        await self.db.write(
            "INSERT INTO promotions (version, at) VALUES (?, ?)", (version, time.time())
        )

    async def previous(self) -> tuple[str, str | None] | None:
        """What a rollback would serve, None when there is nothing to roll back."""
        rows = await self.db.fetchall(_SERVING.replace("LIMIT 1", "LIMIT 2"))
        if not rows:
            return None
        return (BASE, None) if len(rows) == 1 else (rows[1]["version"], rows[1]["adapter"])

    async def rollback(self) -> tuple[str, str | None] | None:
        """Undo the newest promotion; return what is served now, None when nothing to undo."""
        async with self.db.transaction() as conn:
            async with conn.execute(_SERVING) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            await conn.execute(
                "UPDATE promotions SET rolled_back = ? WHERE id = ?", (time.time(), row["id"])
            )
            async with conn.execute(_SERVING) as cur:
                now = await cur.fetchone()
        return (BASE, None) if now is None else (now["version"], now["adapter"])

    async def all(self) -> list[dict[str, Any]]:
        """Every version, newest first, with when it was last promoted (None if never)."""
        serving, _ = await self.serving()
        rows = await self.db.fetchall(
            "SELECT m.*, (SELECT MAX(p.at) FROM promotions p WHERE p.version = m.version"
            " AND p.rolled_back IS NULL) AS promoted FROM model_versions m"
            " ORDER BY m.created DESC, m.version"
        )
        return [
            {
                "version": r["version"],
                "created": r["created"],
                "adapter": r["adapter"],
                "parent": r["parent"],
                "metrics": json.loads(r["metrics"]) if r["metrics"] else {},
                "gate_passed": None if r["gate_passed"] is None else bool(r["gate_passed"]),
                "promoted": r["promoted"],
                "serving": r["version"] == serving,
            }
            for r in rows
        ]
