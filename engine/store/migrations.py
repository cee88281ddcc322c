"""Versioned schema migrations: the database records which ones it has, each runs atomically.

A migration is a version number and a tuple of SQL statements. They run one by one inside a
single transaction (not `executescript`, which commits on its own), so a crash halfway leaves
the database at the previous version. Never edit a released migration: append a new one.
"""

from __future__ import annotations

import time

import aiosqlite

Migration = tuple[int, tuple[str, ...]]

MIGRATIONS: list[Migration] = [
    (
        1,
        (
            """CREATE TABLE requests (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                description TEXT NOT NULL,
                candidates INTEGER NOT NULL,
                top INTEGER NOT NULL,
                status TEXT NOT NULL,  -- queued|done|failed|timeout|cancelled|refused|interrupted
                error TEXT,
                prompt TEXT,                -- the exact text the model was given
                spec TEXT,                  -- JSON of the structure the request states, or NULL
                model_version TEXT,
                timings TEXT,               -- JSON
                created REAL NOT NULL,
                finished REAL,
                latency_ms REAL
            )""",
            "CREATE INDEX requests_created ON requests(created)",
            "CREATE INDEX requests_status ON requests(status)",
            """CREATE TABLE diagrams (
                id TEXT PRIMARY KEY,
                request_id TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
                position INTEGER NOT NULL,   -- order in the ranked list of all candidates, 0 = best
                rank INTEGER,                -- 1..top for the diagrams shown, NULL for the others
                text TEXT NOT NULL,          -- what the model wrote
                node_list TEXT,              -- the interchange node list, NULL when unparseable
                valid INTEGER NOT NULL,
                natural_stop INTEGER,
                image TEXT,                  -- content hash of the PNG under images/, or NULL
                embedding BLOB,              -- float32 auto-encoder embedding, or NULL
                readability REAL,
                cnn_readability REAL,
                expected_rating REAL,
                confidence REAL,
                fidelity REAL,
                fidelity_exact INTEGER,
                problems TEXT,               -- JSON list of strings
                model_version TEXT,
                created REAL NOT NULL
            )""",
            "CREATE INDEX diagrams_request ON diagrams(request_id)",
            "CREATE INDEX diagrams_created ON diagrams(created)",
            """CREATE TABLE ratings (
                user_id TEXT NOT NULL,
                diagram_id TEXT NOT NULL REFERENCES diagrams(id) ON DELETE CASCADE,
                score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
                updated REAL NOT NULL,
                PRIMARY KEY (user_id, diagram_id)
            )""",
            "CREATE INDEX ratings_diagram ON ratings(diagram_id)",
            """CREATE TABLE model_versions (
                version TEXT PRIMARY KEY,
                adapter TEXT,                -- adapter directory, NULL = the built-in model
                parent TEXT REFERENCES model_versions(version),
                metrics TEXT,                -- JSON: quality benchmark and gate decision
                gate_passed INTEGER,
                created REAL NOT NULL
            )""",
            # Promotion history: the newest row not rolled back is the version being served.
            """CREATE TABLE promotions (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                version TEXT NOT NULL REFERENCES model_versions(version),
                at REAL NOT NULL,
                rolled_back REAL
            )""",
            """CREATE TABLE jobs (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                what TEXT NOT NULL,
                trigger TEXT NOT NULL,       -- schedule|admin
                status TEXT NOT NULL,        -- queued|running|done|failed
                created REAL NOT NULL,
                started REAL,
                finished REAL,
                result TEXT,                 -- JSON
                error TEXT
            )""",
            "CREATE INDEX jobs_what ON jobs(what, status)",
        ),
    ),
]


class SchemaTooNew(RuntimeError):
    """The database was written by a newer engine; refusing beats corrupting it."""


async def current_version(conn: aiosqlite.Connection) -> int:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version"
        " (version INTEGER NOT NULL, applied REAL NOT NULL)"
    )
    async with conn.execute("SELECT MAX(version) FROM schema_version") as cur:
        row = await cur.fetchone()
    return int(row[0] or 0)


async def migrate(conn: aiosqlite.Connection, migrations: list[Migration] = MIGRATIONS) -> int:
    """Apply the migrations the database lacks, in order; return the resulting version.

    `conn` must be in autocommit mode (isolation_level=None) so BEGIN/COMMIT are ours.
    """
    have = await current_version(conn)
    newest = max((v for v, _ in migrations), default=0)
    if have > newest:
        raise SchemaTooNew(f"database schema is version {have}, this engine knows up to {newest}")
    for version, statements in sorted(migrations):
        if version <= have:
            continue
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for sql in statements:
                await conn.execute(sql)
            await conn.execute(
                "INSERT INTO schema_version (version, applied) VALUES (?, ?)",
                (version, time.time()),
            )
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        have = version
    return have
