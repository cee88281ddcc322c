"""Nothing stuck, everything bounded: failed store writes close their request with a
reference, admission is bounded up to the scoring thread, withdrawn requests are not
scored, rebuild outputs are pruned, a failed start leaves no thread, the log is redacted.

The engine runs in-process on loopback with the demo backend (real drawing and scoring);
the failures are real: SQLite's own "database or disk is full", a read-only images/.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from test_store_damaged import read_only

from common.redact import REDACTED, RedactFilter
from engine.service.app import ENGINE, create_app
from engine.service.backend import Ask, StageFn
from engine.service.config import Settings
from engine.service.demo_backend import DemoBackend, DemoTrainer
from engine.service.queue import FairBatchQueue, Ticket
from engine.service.retention import prune_outputs

SECRET = "hardening-test-secret-0123456789"
AUTH = {"Authorization": f"Bearer {SECRET}"}


class Gated(DemoBackend):
    """The demo backend; its scoring can be held at a gate, and it records what it samples
    and what it really scores."""

    def __init__(self) -> None:
        super().__init__()
        self.scoring = threading.Event()
        self.scoring.set()
        self.sampled: list[list[str]] = []
        self.scored: list[str] = []

    def generate(self, asks: Sequence[Ask]) -> list:
        self.sampled.append([a.user_id for a in asks])
        return super().generate(asks)

    def score(self, asks: Sequence[Ask], generated: list, on_stage: StageFn) -> list:
        self.scoring.wait(timeout=5)  # a failed test must not hold the engine's stop
        return super().score(asks, generated, on_stage)

    def _answer(self, ask: Ask, *args: Any) -> Any:
        self.scored.append(ask.user_id)
        return super()._answer(ask, *args)


@contextmanager
def held(backend: Gated) -> Iterator[None]:
    """Scoring waits until the block ends, however it ends."""
    backend.scoring.clear()
    try:
        yield
    finally:
        backend.scoring.set()


def settings(data_dir: Path, **overrides: object) -> Settings:
    base = {"secret": SECRET, "data_dir": data_dir, "retrain_interval_min": 0.0}
    return Settings(**(base | {"batch_window_ms": 5.0} | overrides))


@asynccontextmanager
async def serving(s: Settings, backend: DemoBackend | None = None) -> AsyncIterator[TestClient]:
    app = create_app(s, backend or DemoBackend(), DemoTrainer())
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


def ask(user: str, description: str = "a network 2 3 1") -> dict:
    return {"user_id": user, "description": description, "candidates": 2, "top": 1}


async def stats(client: TestClient) -> dict:
    return await (await client.get("/v1/stats", headers=AUTH)).json()


async def until(check: Callable[[], object], what: str = "condition") -> None:
    for _ in range(1000):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{what} never became true")


async def until_stats(client: TestClient, check: Callable[[dict], bool]) -> dict:
    for _ in range(500):
        st = await stats(client)
        if check(st):
            return st
        await asyncio.sleep(0.01)
    raise AssertionError(f"stats never matched: {st}")


async def statuses(client: TestClient) -> dict[str, str]:
    db = client.server.app[ENGINE].db.db
    return {r["id"]: r["status"] for r in await db.fetchall("SELECT id, status FROM requests")}


async def test_a_full_database_gets_503_with_a_reference_and_closes_the_request(
    tmp_path: Path,
) -> None:
    async with serving(settings(tmp_path)) as client:
        assert (await client.post("/v1/diagrams", json=ask("u"), headers=AUTH)).status == 200
        db = client.server.app[ENGINE].db.db
        pages = await db.scalar("PRAGMA page_count")
        await db.write(f"PRAGMA max_page_count = {pages}")  # SQLite's own "disk is full"
        big = ask("u") | {"candidates": 16, "top": 4}  # a small request row, 16 diagram rows
        r = await client.post("/v1/diagrams", json=big, headers=AUTH)
        body = await r.json()
        assert r.status == 503 and body["reference"] in body["error"]
        assert "store" in body["error"] and "\n" not in body["error"]
        rows = await statuses(client)
        assert rows[body["reference"]] == "failed" and "queued" not in rows.values()
        stored = await db.scalar(
            "SELECT COUNT(*) FROM diagrams WHERE request_id = ?", (body["reference"],)
        )
        assert stored == 0  # the transaction left nothing half written
        await db.write("PRAGMA max_page_count = 1000000")
        assert (await client.post("/v1/diagrams", json=big, headers=AUTH)).status == 200


async def test_a_read_only_images_dir_gets_503_and_the_request_is_closed(tmp_path: Path) -> None:
    async with serving(settings(tmp_path)) as client:
        images = tmp_path / "images"
        with read_only(images):
            r = await client.post("/v1/diagrams", json=ask("u"), headers=AUTH)
            body = await r.json()
            assert r.status == 503 and body["reference"] in body["error"]
            streamed = await client.post("/v1/diagrams?stream=1", json=ask("s"), headers=AUTH)
            last = json.loads((await streamed.read()).splitlines()[-1])
            assert last["event"] == "error" and last["status"] == 503 and last["reference"]
        assert set((await statuses(client)).values()) == {"failed"}
        assert (await client.post("/v1/diagrams", json=ask("u"), headers=AUTH)).status == 200


async def test_admission_is_bounded_up_to_the_scoring_thread(tmp_path: Path) -> None:
    backend = Gated()
    s = settings(tmp_path, queue_max=8, inflight_per_user=1, batch_max_candidates=2)
    async with serving(s, backend) as client:

        def post(user: str) -> asyncio.Task:
            return asyncio.create_task(client.post("/v1/diagrams", json=ask(user), headers=AUTH))

        with held(backend):
            posts = [post("user0"), post("user1")]
            await until(lambda: len(backend.sampled) == 2, "two batches sampled")
            posts += [post(f"user{i}") for i in range(2, 12)]
            await until_stats(client, lambda st: st["requests"]["total"] == 12)
            await asyncio.sleep(0.3)  # time enough for a third batch to start, were it let
            st = await stats(client)
            # One batch scoring, one sampled and waiting for the scoring thread; the other
            # ten wait in the queue, where they are counted (8 fit; 2 were refused).
            assert len(backend.sampled) == 2 and st["running"] == 2
            assert st["queue_depth"] == 8 and st["requests"]["refused"] == 2
        codes = sorted([(await p).status for p in posts])
        assert codes == [200] * 10 + [429] * 2
        assert len(backend.sampled) == 10
        assert sorted(backend.scored) == sorted(batch[0] for batch in backend.sampled)


async def test_a_request_withdrawn_before_its_scoring_is_not_scored(tmp_path: Path) -> None:
    backend = Gated()
    async with serving(settings(tmp_path, batch_max_candidates=2), backend) as client:
        with held(backend):
            post = client.post("/v1/diagrams", json=ask("a"), headers=AUTH)
            first = asyncio.create_task(post)
            await until(lambda: len(backend.sampled) == 1)
            impatient = aiohttp.ClientTimeout(total=0.5)
            async with aiohttp.ClientSession(timeout=impatient) as other:
                url = client.make_url("/v1/diagrams")
                with pytest.raises(TimeoutError):
                    await other.post(url, json=ask("gone"), headers=AUTH)
            assert backend.sampled == [["a"], ["gone"]]  # sampled, then its caller left
        assert (await first).status == 200
        await until(lambda: client.server.app[ENGINE].queue.running == 0, "batches finished")
        assert backend.scored == ["a"]
        assert sorted((await statuses(client)).values()) == ["cancelled", "done"]


async def test_at_most_max_batches_are_open_and_the_rest_wait_in_the_queue() -> None:
    open_now, most = 0, 0
    finish = asyncio.Event()

    async def run(tickets: list[Ticket[str]], release: Callable[[], None]) -> list[str]:
        nonlocal open_now, most
        open_now += 1
        most = max(most, open_now)
        release()  # the model part is over at once; the rest waits
        await finish.wait()
        open_now -= 1
        return [t.payload for t in tickets]

    queue: FairBatchQueue[str, str] = FairBatchQueue(
        run, max_pending=50, max_per_user=50, inflight_per_user=50, window_s=0.0,
        max_batch_size=1, max_batches=2,
    )  # fmt: skip
    queue.start()
    tasks = [asyncio.create_task(queue.submit(f"u{i}", f"p{i}")) for i in range(10)]
    await until(lambda: open_now == 2)
    await asyncio.sleep(0.05)
    assert most == 2 and queue.depth == 8 and queue.running == 2
    finish.set()
    assert [await t for t in tasks] == [f"p{i}" for i in range(10)]
    assert most == 2
    await queue.stop()


def test_rebuild_outputs_keep_the_newest_and_the_scorer_in_use(tmp_path: Path) -> None:
    prefs = tmp_path / "preferences"
    prefs.mkdir()
    for k in range(8):
        (prefs / f"pairs-2026120{k}-000000-abcd.jsonl").write_text("{}\n")
    cnn = tmp_path / "scorers" / "cnn"
    for k in range(6):
        (cnn / f"2026120{k}-000000-abcd").mkdir(parents=True)
    oldest = cnn / "20261200-000000-abcd"
    (cnn / "current.json").write_text(json.dumps({"folder": str(oldest)}))
    removed = prune_outputs(tmp_path, keep=3)
    assert sorted(p.name for p in prefs.iterdir()) == [
        f"pairs-2026120{k}-000000-abcd.jsonl" for k in (5, 6, 7)
    ]
    kept = sorted(p.name for p in cnn.iterdir() if p.is_dir())
    assert kept == ["20261200-000000-abcd"] + [f"2026120{k}-000000-abcd" for k in (3, 4, 5)]
    assert len(removed) == 5 + 2


async def test_each_preferences_run_prunes_the_older_pair_files(tmp_path: Path) -> None:
    async with serving(settings(tmp_path, retrain_keep=2)) as client:
        jobs = client.server.app[ENGINE].jobs
        for _ in range(4):
            await jobs.run("preferences")
        assert len(list((tmp_path / "preferences").glob("pairs-*.jsonl"))) == 2


class BrokenAdapter(DemoBackend):
    def use_adapter(self, version: str, adapter: str | None) -> None:
        raise RuntimeError("the adapter cannot be loaded")


async def test_a_start_that_fails_after_the_store_opened_leaves_no_thread(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path), BrokenAdapter(), DemoTrainer())
    server = TestServer(app, host="127.0.0.1")
    with pytest.raises(RuntimeError, match="adapter"):
        await server.start_server()
    await server.close()
    assert app[ENGINE].store is None
    workers = [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]
    for t in workers:
        t.join(1.0)
    assert not [t for t in workers if t.is_alive()]


def test_the_log_filter_blanks_the_secret_and_any_bearer_token() -> None:
    f = RedactFilter([SECRET])
    try:
        raise ValueError(f"bad header Authorization: Bearer {SECRET}")
    except ValueError:
        import sys

        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "aiohttp.server", logging.ERROR, __file__, 1, "got %r and %s", (SECRET, "x"), exc_info
    )
    cut = logging.LogRecord(
        "aiohttp.server", logging.ERROR, __file__, 1, "b'Bearer %s...'", (SECRET[:12],), None
    )
    for r in (record, cut):
        f.filter(r)
        text = logging.Formatter().format(r)
        assert SECRET not in text and SECRET[:12] not in text and REDACTED in text
    assert f.redact("Bearer") == "Bearer"  # a word alone is left alone


async def test_a_store_that_refuses_writes_gets_503s_with_references(tmp_path: Path) -> None:
    async with serving(settings(tmp_path)) as client:
        db = client.server.app[ENGINE].db.db
        await db.write("PRAGMA query_only = ON")  # SQLite refuses every write from now on
        r = await client.post("/v1/diagrams", json=ask("u"), headers=AUTH)
        body = await r.json()
        assert r.status == 503 and body["reference"] in body["error"]
        assert "record" in body["error"] and "readonly" not in body["error"]
        streamed = await client.post("/v1/diagrams?stream=1", json=ask("u"), headers=AUTH)
        last = json.loads((await streamed.read()).splitlines()[-1])
        assert last["event"] == "error" and last["status"] == 503
        rating = {"user_id": "v", "diagram_id": "0123456789abcdef", "score": 3}
        r = await client.put("/v1/ratings", json=rating, headers=AUTH)
        body = await r.json()
        assert r.status == 503 and body["reference"] in body["error"]
        await db.write("PRAGMA query_only = OFF")
        assert await statuses(client) == {}  # nothing was recorded, so nothing is open
        assert (await client.post("/v1/diagrams", json=ask("u"), headers=AUTH)).status == 200


def test_the_engine_process_log_never_shows_the_secret(tmp_path: Path) -> None:
    """`diagrammer engine` itself: requests that make aiohttp quote the Authorization header
    or the request line, then a clean stop; the log has neither the secret nor a traceback."""
    from engine_process import engine_process
    from fake_engine import SECRET as PROCESS_SECRET

    secret = PROCESS_SECRET.encode()
    heads = [
        b"GET /v1/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + secret + b"x" * 9000,
        b"Bearer " + secret + b" nonsense",
        b"GET /v1/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + secret[:10] + b"\x00",
    ]
    with engine_process(None, tmp_path) as engine:
        port = int(engine.url.rsplit(":", 1)[1])
        for head in heads:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(head + b"\r\n\r\n")
                response = b"".join(iter(lambda s=sock: s.recv(65536), b""))
            assert b" 400 " in response.split(b"\r\n")[0] and secret[:10] not in response
        engine.stop()
        assert engine.process.returncode == 0
        log = engine.log()
    assert "refused a request" in log and "Traceback" not in log
    assert PROCESS_SECRET not in log and PROCESS_SECRET[:10] not in log
