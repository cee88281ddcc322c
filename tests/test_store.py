"""The engine store: migrations, transactions, concurrent rating upserts, restart, models, jobs."""

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path

import aiosqlite
import numpy as np
import pytest

from engine.store import Store
from engine.store.diagrams import Answered, NewDiagram
from engine.store.migrations import MIGRATIONS, SchemaTooNew, current_version, migrate
from engine.store.model_versions import BASE


async def _answered(store: Store, request_id: str, n: int, user: str = "u") -> list[str]:
    """A stored request with n diagrams; returns their ids."""
    await store.requests.create(request_id, user, "a net 2 3 1", n, min(n, 3))
    png = store.images.save(f"png of {request_id}".encode())
    rows = [
        NewDiagram(
            id=f"{request_id}{i:04x}",
            position=i,
            rank=i + 1 if i < 3 else None,
            text=f"layers: 2 3 1\n# {i}",
            node_list="[...]",
            valid=True,
            natural_stop=True,
            image=png,
            embedding=bytes(8),
        )
        for i in range(n)
    ]
    await store.diagrams.save_answer(request_id, Answered("prompt", None, BASE, {}), rows)
    return [r.id for r in rows]


async def test_a_new_store_has_wal_foreign_keys_and_the_newest_schema(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:
        assert await store.db.scalar("PRAGMA journal_mode") == "wal"
        assert await store.db.scalar("PRAGMA foreign_keys") == 1
        assert store.db.schema_version == MIGRATIONS[-1][0]
        with pytest.raises(sqlite3.IntegrityError):  # a rating must name a stored diagram
            async with store.db.transaction() as conn:
                await conn.execute("INSERT INTO ratings VALUES ('u', 'no such diagram', 3, 0)")
    finally:
        await store.close()


async def test_migrations_run_once_in_order_and_a_failing_one_leaves_nothing(
    tmp_path: Path,
) -> None:
    conn = await aiosqlite.connect(tmp_path / "m.sqlite3", isolation_level=None)
    try:
        steps = [(1, ("CREATE TABLE a (x INTEGER)",)), (2, ("ALTER TABLE a ADD COLUMN y",))]
        assert await migrate(conn, steps) == 2
        assert await migrate(conn, steps) == 2  # nothing left to do: no error, no repeat
        broken = [*steps, (3, ("CREATE TABLE b (x)", "INSERT INTO nowhere VALUES (1)"))]
        with pytest.raises(sqlite3.OperationalError):
            await migrate(conn, broken)
        assert await current_version(conn) == 2
        async with conn.execute("SELECT name FROM sqlite_master WHERE name = 'b'") as cur:
            assert await cur.fetchone() is None  # the failed migration's first step rolled back
        with pytest.raises(SchemaTooNew):
            await migrate(conn, steps[:1])
    finally:
        await conn.close()


async def test_thousands_of_concurrent_upserts_from_several_connections_are_all_kept(
    tmp_path: Path,
) -> None:
    stores = [await Store.open(tmp_path) for _ in range(2)]  # two connections, one file
    try:
        diagrams = await _answered(stores[0], "r1", 25)
        users = [f"user{u}" for u in range(40)]

        async def rate(k: int, user: str) -> None:
            store = stores[k % len(stores)]
            for i, d in enumerate(diagrams):  # every pair written twice; the second one wins
                assert await store.ratings.upsert(user, d, 1 + (i + k) % 5)
                assert await store.ratings.upsert(user, d, 1 + (i * k) % 5)

        await asyncio.gather(*(rate(k, u) for k, u in enumerate(users)))  # 2,000 upserts
        assert await stores[1].ratings.count() == len(users) * len(diagrams)
        assert await stores[0].ratings.users() == len(users)
        for k, user in enumerate(users):
            for i, d in enumerate(diagrams):
                row = await stores[0].ratings.get(user, d)
                assert row is not None and row["score"] == 1 + (i * k) % 5
    finally:
        for s in stores:
            await s.close()


async def test_a_reopened_store_serves_the_same_data(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    ids = await _answered(store, "r1", 4)
    await store.ratings.upsert("u2", ids[1], 4)
    await store.close()
    store = await Store.open(tmp_path)
    try:
        row = await store.diagrams.get(ids[1])
        assert row is not None and row["user_id"] == "u" and row["rank"] == 2
        assert store.images.load(row["image"]) == b"png of r1"
        assert (await store.ratings.get("u2", ids[1]))["score"] == 4
        assert (await store.requests.get("r1"))["status"] == "done"
    finally:
        await store.close()


async def test_recovery_closes_what_a_crash_left_open(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    await store.requests.create("open", "u", "x", 2, 1)
    job = await store.jobs.create("orpo", "admin")
    await store.jobs.start(job)
    await store.close()  # "crash": neither was finished
    store = await Store.open(tmp_path)
    try:
        assert await store.recover() == {"requests": 1, "jobs": 1}
        assert (await store.requests.get("open"))["status"] == "interrupted"
        assert (await store.jobs.get(job))["status"] == "failed"
        assert await store.recover() == {"requests": 0, "jobs": 0}
    finally:
        await store.close()


async def test_a_failed_transaction_changes_nothing(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:
        ids = await _answered(store, "r1", 2)
        with pytest.raises(RuntimeError):
            async with store.db.transaction() as conn:
                await conn.execute("DELETE FROM diagrams WHERE id = ?", (ids[0],))
                raise RuntimeError("crash mid-transaction")
        assert await store.diagrams.count() == 2

        async def slow_writer() -> None:
            async with store.db.transaction() as conn:
                await conn.execute("DELETE FROM diagrams WHERE id = ?", (ids[1],))
                await asyncio.sleep(10)

        # A writer cancelled mid-transaction rolls back too, and the connection stays usable.
        task = asyncio.create_task(slow_writer())
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert await store.diagrams.count() == 2
        assert await store.ratings.upsert("u", ids[0], 5)
    finally:
        await store.close()


async def test_images_are_named_by_content_and_stored_once(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:
        a, b = store.images.save(b"same"), store.images.save(b"same")
        assert a == b and len(a) == 64 and store.images.load(a) == b"same"
        assert len(list((tmp_path / "images").rglob("*.png"))) == 1
        with pytest.raises(ValueError):
            store.images.path("../engine.sqlite3")
    finally:
        await store.close()


async def test_promotion_and_rollback_move_the_served_version(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:
        assert await store.models.serving() == (BASE, None)
        assert await store.models.previous() is None and await store.models.rollback() is None
        await store.models.add("v1", "/a/v1", BASE, {"q": 1}, True)
        await store.models.add("v2", "/a/v2", "v1", {"q": 2}, True)
        await store.models.promote("v1")
        await store.models.promote("v2")
        assert await store.models.serving() == ("v2", "/a/v2")
        assert await store.models.previous() == ("v1", "/a/v1")
        assert await store.models.rollback() == ("v1", "/a/v1")
        listed = {m["version"]: m for m in await store.models.all()}
        assert listed["v1"]["serving"] and not listed["v2"]["serving"]
        assert listed["v2"]["promoted"] is None and listed["v1"]["metrics"] == {"q": 1}
        assert await store.models.rollback() == (BASE, None)
    finally:
        await store.close()


async def test_jobs_record_their_outcome(tmp_path: Path) -> None:
    store = await Store.open(tmp_path)
    try:
        assert await store.jobs.last_part("embeddings", "trained") is None
        a = await store.jobs.create("embeddings", "schedule")
        await store.jobs.start(a)
        await store.jobs.finish(a, {"trained": True, "snapshot": 1.0})
        b = await store.jobs.create("embeddings", "admin")
        await store.jobs.finish(b, {"trained": False})
        c = await store.jobs.create("cnn", "admin")
        await store.jobs.fail(c, "boom")
        assert await store.jobs.last_part("embeddings", "trained") == {
            "trained": True,
            "snapshot": 1.0,
        }
        # A part that ran within "all" counts too, even where another part failed.
        d = await store.jobs.create("all", "schedule")
        parts = {"embeddings": {"trained": True, "snapshot": 2.0}, "cnn": {"error": "x"}}
        await store.jobs.fail(d, "cnn: x", parts)
        assert (await store.jobs.last_part("embeddings", "trained"))["snapshot"] == 2.0
        assert [j["status"] for j in await store.jobs.recent()] == [
            "failed",
            "failed",
            "done",
            "done",
        ]
    finally:
        await store.close()


async def test_a_users_history_is_the_stored_embedding_and_readability_of_each_rating(
    tmp_path: Path,
) -> None:
    """What the kNN profile and its priors read: the values stored when the diagram was
    served, never recomputed; diagrams without an embedding are left out."""
    store = await Store.open(tmp_path)
    try:
        await store.requests.create("r1", "u", "a net 2 3 1", 3, 3)
        png = store.images.save(b"a picture")
        vectors = [np.full(4, k, np.float32) for k in range(3)]
        rows = [
            NewDiagram(f"d{k}", k, k + 1, "t", "[...]", True, True, png, vectors[k].tobytes(),
                       cnn_readability=[4.5, None, 1.0][k])
            for k in range(3)
        ]  # fmt: skip
        rows[2] = replace(rows[2], image=None, embedding=None)  # not shown: no picture
        await store.diagrams.save_answer("r1", Answered("p", None, BASE, {}), rows)
        await store.ratings.upsert("rater", "d1", 2)
        await store.ratings.upsert("rater", "d0", 5)
        await store.ratings.upsert("rater", "d2", 3)  # no embedding yet: not in the profile
        await store.ratings.upsert("other", "d0", 1)
        history = await store.diagrams.history("rater")
        assert [(np.frombuffer(e, np.float32)[0], s, r) for e, s, r in history] == [
            (1.0, 2, None),
            (0.0, 5, 4.5),
        ]  # oldest rating first
        await store.ratings.upsert("rater", "d1", 4)  # a changed rating moves to the end
        assert [s for _, s, _ in await store.diagrams.history("rater")] == [5, 4]
        assert (await store.diagrams.count(), await store.diagrams.count(shown_only=True)) == (3, 2)
    finally:
        await store.close()
