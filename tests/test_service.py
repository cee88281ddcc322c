"""The engine's HTTP API on loopback, with the demo backend doing real layout and rendering."""

import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import cv2
import numpy as np
from aiohttp.test_utils import TestClient, TestServer

from engine.service.app import create_app
from engine.service.backend import Ask, StageFn
from engine.service.config import Settings
from engine.service.demo_backend import DemoBackend, DemoTrainer
from engine.store import Store

SECRET = "test-secret-0123456789"
AUTH = {"Authorization": f"Bearer {SECRET}"}
ROOT = Path(__file__).resolve().parents[1]


class Held(DemoBackend):
    """The demo backend, recording every batch; it can be held at a gate or slowed down."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[tuple[str, str]]] = []  # (user, description) per ask
        self.gate = threading.Event()
        self.gate.set()
        self.delay = 0.0

    def generate(self, asks: Sequence[Ask]) -> list:
        self.batches.append([(a.user_id, a.description) for a in asks])
        self.gate.wait(timeout=30)
        time.sleep(self.delay)
        return super().generate(asks)


def settings(data_dir: Path, **overrides: object) -> Settings:
    base = {"secret": SECRET, "data_dir": data_dir, "retrain_interval_min": 0.0}
    return Settings(**(base | {"batch_window_ms": 20.0} | overrides))


@asynccontextmanager
async def serving(s: Settings, backend: DemoBackend | None = None) -> AsyncIterator[TestClient]:
    app = create_app(s, backend or DemoBackend(), DemoTrainer())
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


def ask(user: str, description: str = "a network 2 3 1", n: int = 2, top: int = 1) -> dict:
    return {"user_id": user, "description": description, "candidates": n, "top": top}


async def stats(client: TestClient) -> dict:
    return await (await client.get("/v1/stats", headers=AUTH)).json()


async def until(check: Callable[[], object]) -> None:
    for _ in range(600):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


async def until_stats(client: TestClient, check: Callable[[dict], bool]) -> dict:
    for _ in range(300):
        s = await stats(client)
        if check(s):
            return s
        await asyncio.sleep(0.02)
    raise AssertionError(f"stats never matched: {s}")


async def test_only_the_health_check_is_open_and_a_bad_secret_gets_401(tmp_path: Path) -> None:
    async with serving(settings(tmp_path)) as client:
        health = await client.get("/healthz")
        assert health.status == 200 and (await health.json())["model_version"] == "base"
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": SECRET}):
            r = await client.post("/v1/diagrams", json=ask("u"), headers=headers)
            assert r.status == 401 and "secret" in (await r.json())["error"]
            assert (await client.get("/v1/stats", headers=headers)).status == 401
        assert (await client.get("/v1/stats", headers=AUTH)).status == 200


async def test_bad_bodies_are_refused_with_a_reason(tmp_path: Path) -> None:
    s = settings(tmp_path, max_body_bytes=4096, max_description_chars=300)
    async with serving(s) as client:

        async def post(data: bytes) -> tuple[int, str]:
            r = await client.post("/v1/diagrams", data=data, headers=AUTH)
            return r.status, (await r.json())["error"]

        assert await post(b'{"user_id": "u", "descr') == (400, "the body is not valid JSON")
        assert (await post(b"[1, 2]"))[0] == 400
        status, why = await post(json.dumps(ask("u", "   ")).encode())
        assert status == 400 and "300" in why
        status, why = await post(json.dumps(ask("u", "x" * 301)).encode())
        assert status == 400 and "301 characters" in why and "limit is 300" in why
        status, why = await post(json.dumps(ask("u") | {"candidates": 0}).encode())
        assert status == 400 and "candidates" in why
        status, why = await post(json.dumps(ask("u", "x" * 5000)).encode())
        assert status == 413 and "4096 bytes" in why
        r = await client.put("/v1/ratings", data=b"{", headers=AUTH)
        assert r.status == 400
        r = await client.put("/v1/ratings", json={"user_id": "u", "diagram_id": "ab", "score": 9})
        assert r.status == 401  # the secret is checked before the body
        r = await client.put(
            "/v1/ratings", json={"user_id": "u", "diagram_id": "ab", "score": 9}, headers=AUTH
        )
        assert r.status == 400 and "score" in (await r.json())["error"]
        assert (await stats(client))["requests"]["total"] == 0  # none of them was queued


async def test_a_request_gets_ranked_diagrams_to_fetch_and_rate(tmp_path: Path) -> None:
    async with serving(settings(tmp_path)) as client:
        r = await client.post("/v1/diagrams", json=ask("u1", n=5, top=3), headers=AUTH)
        assert r.status == 200
        body = await r.json()
        assert body["model_version"] == "base" and body["spec"]["layers"] == [2, 3, 1]
        results = body["results"]
        assert [x["rank"] for x in results] == [1, 2, 3] and all(x["valid"] for x in results)
        first = results[0]
        png = await client.get(first["png_url"], headers=AUTH)
        assert png.content_type == "image/png"
        assert await png.read() == base64.b64decode(first["png_base64"])
        whole = cv2.imdecode(np.frombuffer(base64.b64decode(first["png_base64"]), np.uint8), 1)
        small = base64.b64decode(first["preview_base64"])
        preview = cv2.imdecode(np.frombuffer(small, np.uint8), 1)
        # the post is the drawing cropped to its ink: no larger than the canvas, as dark
        assert whole.shape[:2] == (600, 1000) and preview.shape[0] * preview.shape[1] < 600 * 1000
        assert preview.min() == whole.min()
        stored = await (await client.get(f"/v1/diagrams/{first['id']}", headers=AUTH)).json()
        assert stored["sketch"] == first["sketch"] and stored["user_id"] == "u1"
        assert stored["sketch"].startswith("layers: 2 3 1")

        rating = {"user_id": "u2", "diagram_id": first["id"], "score": 4}
        r = await client.put("/v1/ratings", json=rating, headers=AUTH)
        assert r.status == 200 and await r.json() == rating
        r = await client.put("/v1/ratings", json=rating | {"score": 2}, headers=AUTH)
        assert (await stats(client))["ratings"] == 1  # replaced, not added
        unknown = rating | {"diagram_id": "0123456789abcdef"}
        r = await client.put("/v1/ratings", json=unknown, headers=AUTH)
        assert r.status == 404
        gone = {"user_id": "u2", "diagram_id": first["id"]}
        r = await client.delete("/v1/ratings", json=gone, headers=AUTH)
        assert await r.json() == {"deleted": True}
        r = await client.delete("/v1/ratings", json=gone, headers=AUTH)
        assert await r.json() == {"deleted": False}
        assert (await client.get("/v1/diagrams/0123456789abcdef", headers=AUTH)).status == 404


def round_robin(order: list[str]) -> bool:
    """True when, after every step, users who still have requests to come differ by at most
    one in how many of theirs were served."""
    left, served = Counter(order), Counter()
    for user in order:
        served[user] += 1
        left[user] -= 1
        waiting = [served[u] for u in left if left[u] > 0]
        if waiting and max(waiting) - min(waiting) > 1:
            return False
    return True


async def test_fifty_requests_from_twenty_users_are_answered_or_refused_fairly(
    tmp_path: Path,
) -> None:
    s = settings(
        tmp_path,
        queue_max=30,
        queue_max_per_user=3,
        inflight_per_user=1,
        batch_max_candidates=8,  # four requests of two candidates per batch
    )
    backend = Held()
    async with serving(s, backend) as client:
        backend.gate.clear()
        warm = asyncio.create_task(client.post("/v1/diagrams", json=ask("warm"), headers=AUTH))
        await until(lambda: backend.batches)
        users = ["burst"] * 12 + [f"user{i}" for i in range(19) for _ in range(2)]
        descriptions = [f"a network 2 {3 + i % 4} 1 #{i}" for i in range(len(users))]
        posts = [
            asyncio.create_task(client.post("/v1/diagrams", json=ask(u, d), headers=AUTH))
            for u, d in zip(users, descriptions, strict=True)
        ]
        await until_stats(client, lambda st: st["requests"]["total"] == 51)
        backend.gate.set()
        responses = await asyncio.gather(*posts)
        assert (await warm).status == 200

        statuses = Counter(r.status for r in responses)
        assert set(statuses) <= {200, 429} and sum(statuses.values()) == 50
        assert statuses[429] >= 50 - 30 - 1  # at most 30 wait (+1 may run beside warm)
        for r in responses:
            body = await r.json()
            if r.status == 200:
                assert len(body["results"]) == 1
            else:
                assert int(r.headers["Retry-After"]) >= 1 and body["queue_position"] >= 1
        assert Counter(users[i] for i, r in enumerate(responses) if r.status == 429)["burst"] >= 9

        served = [a for batch in backend.batches[1:] for a in batch]
        answered = {descriptions[i] for i, r in enumerate(responses) if r.status == 200}
        assert {d for _, d in served} == answered  # none lost, none run twice
        assert len(served) == len(answered)
        assert round_robin([u for u, _ in served])
        assert max(len(b) for b in backend.batches) == 4  # requests shared generate calls
        final = await stats(client)
        assert final["requests"] == {
            "total": 51,
            "done": 1 + statuses[200],
            "refused": statuses[429],
        }
        assert final["queue_depth"] == 0 and final["latency_ms"]["p50"] > 0


async def test_a_request_that_takes_too_long_gets_504_and_the_engine_goes_on(
    tmp_path: Path,
) -> None:
    backend = Held()
    backend.delay = 0.8
    async with serving(settings(tmp_path, request_timeout_s=0.3), backend) as client:
        running, waiting = await asyncio.gather(
            client.post("/v1/diagrams", json=ask("a"), headers=AUTH),
            client.post("/v1/diagrams", json=ask("b", "a network 4 4"), headers=AUTH),
        )
        for r in (running, waiting):
            assert r.status == 504 and "0.3 s" in (await r.json())["error"]
        backend.delay = 0.0
        await until_stats(client, lambda st: st["running"] == 0 and st["queue_depth"] == 0)
        ok = await client.post("/v1/diagrams", json=ask("a"), headers=AUTH)
        assert ok.status == 200
        assert (await stats(client))["requests"] == {"total": 3, "timeout": 2, "done": 1}


class SlowScoring(Held):
    """Held's generation, and a scoring part that waits at its own gate."""

    def __init__(self) -> None:
        super().__init__()
        self.scoring = threading.Event()
        self.scoring.set()
        self.scored: list[list[str]] = []

    def score(self, asks: Sequence[Ask], generated: list, on_stage: StageFn) -> list:
        self.scoring.wait(timeout=30)
        self.scored.append([a.user_id for a in asks])
        return super().score(asks, generated, on_stage)


async def test_the_next_batch_generates_while_the_last_one_is_scored(tmp_path: Path) -> None:
    backend = SlowScoring()
    async with serving(settings(tmp_path), backend) as client:
        backend.scoring.clear()
        first = asyncio.create_task(client.post("/v1/diagrams", json=ask("a"), headers=AUTH))
        await until(lambda: len(backend.batches) == 1)
        second = asyncio.create_task(client.post("/v1/diagrams", json=ask("b"), headers=AUTH))
        # b's batch samples while a's is held in scoring: the model is not idle meanwhile.
        await until(lambda: len(backend.batches) == 2)
        assert backend.scored == [] and not first.done()
        assert (await stats(client))["running"] == 2
        backend.scoring.set()
        assert (await first).status == 200 and (await second).status == 200
        assert backend.scored == [["a"], ["b"]]


async def test_a_caller_who_goes_away_withdraws_the_request(tmp_path: Path) -> None:
    backend = Held()
    async with serving(settings(tmp_path), backend) as client:
        backend.gate.clear()
        warm = asyncio.create_task(client.post("/v1/diagrams", json=ask("warm"), headers=AUTH))
        await until(lambda: backend.batches)
        impatient = aiohttp.ClientTimeout(total=0.3)
        async with aiohttp.ClientSession(timeout=impatient) as other:
            try:
                await other.post(client.make_url("/v1/diagrams"), json=ask("gone"), headers=AUTH)
                raise AssertionError("the request should have timed out on the client")
            except TimeoutError:
                pass
        await until_stats(client, lambda st: st["requests"].get("cancelled") == 1)
        assert (await stats(client))["queue_depth"] == 0
        backend.gate.set()
        assert (await warm).status == 200
        assert [u for b in backend.batches for u, _ in b] == ["warm"]


async def test_the_stream_tells_position_and_stages_then_the_result(tmp_path: Path) -> None:
    backend = Held()
    async with serving(settings(tmp_path, queue_max=1), backend) as client:
        backend.gate.clear()
        warm = asyncio.create_task(client.post("/v1/diagrams", json=ask("warm"), headers=AUTH))
        await until(lambda: backend.batches)
        streamed = await client.post("/v1/diagrams?stream=1", json=ask("s"), headers=AUTH)
        assert streamed.content_type == "application/x-ndjson"
        first = json.loads(await streamed.content.readline())
        assert first == {"event": "queued", "position": 1}
        full = await client.post("/v1/diagrams?stream=1", json=ask("t"), headers=AUTH)
        refused = [json.loads(line) async for line in full.content]
        assert refused[-1]["event"] == "error" and refused[-1]["status"] == 429
        assert refused[-1]["queue_position"] == 2 and refused[-1]["retry_after"] >= 1
        backend.gate.set()
        events = [json.loads(line) async for line in streamed.content]
        assert [e["event"] for e in events] == ["generating", "ranking", "done"]
        assert len(events[-1]["results"]) == 1 and events[-1]["results"][0]["valid"]
        assert (await warm).status == 200


async def test_a_restarted_engine_serves_the_same_data(tmp_path: Path) -> None:
    async with serving(settings(tmp_path)) as client:
        body = await (
            await client.post("/v1/diagrams", json=ask("u", n=3, top=2), headers=AUTH)
        ).json()
        ids = [x["id"] for x in body["results"]]
        rating = {"user_id": "v", "diagram_id": ids[1], "score": 5}
        assert (await client.put("/v1/ratings", json=rating, headers=AUTH)).status == 200
        before = [await (await client.get(f"/v1/diagrams/{i}", headers=AUTH)).json() for i in ids]
        png = await (await client.get(f"/v1/diagrams/{ids[0]}.png", headers=AUTH)).read()
    async with serving(settings(tmp_path)) as client:
        after = [await (await client.get(f"/v1/diagrams/{i}", headers=AUTH)).json() for i in ids]
        assert after == before
        assert await (await client.get(f"/v1/diagrams/{ids[0]}.png", headers=AUTH)).read() == png
        st = await stats(client)
        assert st["ratings"] == 1 and st["requests"] == {"total": 1, "done": 1}
        again = {"user_id": "v", "diagram_id": ids[1], "score": 3}
        assert (await client.put("/v1/ratings", json=again, headers=AUTH)).status == 200
        assert (await stats(client))["ratings"] == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_the_engine_command_serves_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    env = os.environ | {
        "ENGINE_SECRET": SECRET,
        "ENGINE_PORT": str(port),
        "ENGINE_DATA_DIR": str(tmp_path),
        "ENGINE_BACKEND": "demo",
        "ENGINE_RETRAIN_INTERVAL_MIN": "0",
    }
    command = [sys.executable, "-m", "diagrammer.cli", "engine", "--env-file", "/nonexistent"]
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(300):
                try:
                    async with session.get(f"{url}/healthz") as r:
                        if r.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            async with session.post(f"{url}/v1/diagrams", json=ask("u"), headers=AUTH) as r:
                assert r.status == 200
                diagram_id = (await r.json())["results"][0]["id"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    store = await Store.open(tmp_path)
    try:
        assert (await store.diagrams.get(diagram_id)) is not None
    finally:
        await store.close()

