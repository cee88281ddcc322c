"""The engine's storage: one SQLite database and an image directory under the data dir."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from engine.store.check import (
    DATABASE,
    RESTORE_HINT,
    StoreDamaged,
    check_data_dir,
    explain,
)
from engine.store.db import Database
from engine.store.diagrams import Diagrams
from engine.store.images import ImageStore
from engine.store.jobs import Jobs
from engine.store.migrations import SchemaTooNew
from engine.store.model_versions import ModelVersions
from engine.store.ratings import Ratings
from engine.store.requests import Requests


class Store:
    def __init__(self, db: Database, data_dir: Path) -> None:
        self.db = db
        self.data_dir = data_dir
        self.images = ImageStore(data_dir / "images")
        self.requests = Requests(db)
        self.diagrams = Diagrams(db)
        self.ratings = Ratings(db)
        self.models = ModelVersions(db)
        self.jobs = Jobs(db)

    @classmethod
    async def open(cls, data_dir: Path) -> Store:
        """Open (creating and migrating as needed) the store under data_dir, once
        check_data_dir passed; StoreDamaged (one line) when it cannot be served."""
        await asyncio.to_thread(check_data_dir, data_dir)
        path = data_dir / DATABASE
        try:
            db = await Database.open(path)
        except sqlite3.DatabaseError as e:
            raise StoreDamaged(explain(path, e)) from None
        except SchemaTooNew as e:
            raise StoreDamaged(f"{path}: {e}: run the newer engine, or {RESTORE_HINT}") from None
        store = cls(db, data_dir)
        try:
            await store.models.ensure_base()
        except BaseException:
            await db.close()
            raise
        return store

    async def recover(self) -> dict[str, int]:
        """Close what a crash left open; return how many rows each table had open."""
        return {"requests": await self.requests.recover(), "jobs": await self.jobs.recover()}

    async def users(self) -> int:
        """People who asked for or rated a diagram."""
        sql = (
            "SELECT COUNT(*) FROM (SELECT user_id FROM requests UNION SELECT user_id FROM ratings)"
        )
        return int(await self.db.scalar(sql))

    async def close(self) -> None:
        await self.db.close()
