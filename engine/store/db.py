"""The SQLite connection: WAL, foreign keys, migrations, and transactions that never interleave.

aiosqlite runs one connection on one thread, so statements from different asyncio tasks
would otherwise land inside each other's transactions. Every use of the connection therefore
goes through one asyncio lock: a transaction holds it from BEGIN to COMMIT, a read holds it
for one query. Other processes (a training job reading ratings) may open the same file: WAL
lets them read while we write, and busy_timeout makes writers wait instead of failing.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import aiosqlite

from engine.store.migrations import migrate

BUSY_TIMEOUT_MS = 10_000


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path
        self.schema_version = 0

    @classmethod
    async def open(cls, path: Path) -> Database:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        # Closed on any failure: aiosqlite's worker thread is not a daemon, and one left
        # running keeps a failed engine alive without serving.
        try:
            conn.row_factory = sqlite3.Row
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA foreign_keys=ON",
                # NORMAL is durable across application crashes in WAL mode; only a power cut
                # can lose the last commits, and it never corrupts the file.
                "PRAGMA synchronous=NORMAL",
                f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
            ):
                await conn.execute(pragma)
            db = cls(conn, path)
            db.schema_version = await migrate(conn)
        except BaseException:
            with suppress(Exception):
                await conn.close()
            raise
        return db

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error or cancellation."""
        async with self._lock:
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
                yield self._conn
                await self._conn.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def _rollback(self) -> None:
        # Always ask, never check in_transaction: a cancelled BEGIN may still be queued on the
        # connection's thread, and this ROLLBACK runs after it. When a cancelled COMMIT already
        # went through there is nothing to roll back, and that is fine.
        with suppress(sqlite3.OperationalError):
            await self._conn.execute("ROLLBACK")

    async def write(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement on its own: atomic without BEGIN/COMMIT (one thread round trip).
        Returns the number of rows it changed."""
        async with self._lock, self._conn.execute(sql, tuple(params)) as cur:
            return cur.rowcount

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[sqlite3.Row]:
        async with self._lock, self._conn.execute(sql, tuple(params)) as cur:
            return list(await cur.fetchall())

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> sqlite3.Row | None:
        async with self._lock, self._conn.execute(sql, tuple(params)) as cur:
            return await cur.fetchone()

    async def scalar(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]
