"""POST /v1/render: a person's sketch or node list drawn as a new, ratable diagram of theirs,
through the real aiohttp app and a real SQLite store (demo backend: no model)."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from engine.service import engine as engine_module
from engine.service.app import create_app
from engine.service.config import Settings
from engine.service.demo_backend import DemoBackend, DemoTrainer

SECRET = "test-secret-0123456789"
AUTH = {"Authorization": f"Bearer {SECRET}"}
NODE_LIST = (
    "[0, 200, 300, 'round rectangle', 140, 50, 'solid arrow', (220, 235, 250), (40, 40, 40),"
    " [1], 'load']\n"
    "[1, 500, 300, 'round rectangle', 140, 50, 'solid arrow', (220, 235, 250), (40, 40, 40),"
    " [], 'train']\n"
)


@asynccontextmanager
async def serving(tmp_path: Path, **overrides: object) -> AsyncIterator[TestClient]:
    s = Settings(secret=SECRET, data_dir=tmp_path, retrain_interval_min=0.0, **overrides)
    app = create_app(s, DemoBackend(), DemoTrainer())
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


async def render(client: TestClient, body: object) -> tuple[int, dict]:
    r = await client.post("/v1/render", json=body, headers=AUTH)
    return r.status, await r.json()


async def test_a_sketch_is_drawn_stored_and_ratable(tmp_path: Path) -> None:
    async with serving(tmp_path) as client:
        body = {"user_id": 42, "text": "layers: 2 3 1\n", "description": "an MLP 2-3-1"}
        status, answer = await render(client, body)
        assert status == 200, answer
        assert answer["model_version"] == "render" and answer["problems"] == []
        [result] = answer["results"]
        assert result["rank"] == 1 and result["valid"] is True
        assert result["sketch"] == "layers: 2 3 1" and result["text"].startswith("[0, ")
        assert 0 < result["readability"] <= 1
        png = base64.b64decode(result["png_base64"])
        assert png.startswith(b"\x89PNG")
        diagram_id = result["id"]
        assert (await client.get(f"/v1/diagrams/{diagram_id}.png", headers=AUTH)).status == 200
        svg = await client.get(f"/v1/diagrams/{diagram_id}.svg", headers=AUTH)
        assert svg.status == 200 and "<svg" in await svg.text()
        stored = await (await client.get(f"/v1/diagrams/{diagram_id}", headers=AUTH)).json()
        assert stored["user_id"] == "42" and stored["description"] == "an MLP 2-3-1"
        assert stored["sketch"] == "layers: 2 3 1"
        rating = {"user_id": "42", "diagram_id": diagram_id, "score": 4}
        assert (await client.put("/v1/ratings", json=rating, headers=AUTH)).status == 200
        stats = await (await client.get("/v1/stats", headers=AUTH)).json()
        assert stats["ratings"] == 1 and stats["requests"]["done"] == 1
    with sqlite3.connect(tmp_path / "engine.sqlite3") as db:
        row = db.execute("SELECT status, candidates, top FROM requests").fetchone()
    assert row == ("done", 1, 1)


async def test_a_node_list_with_problems_is_drawn_and_they_are_listed(tmp_path: Path) -> None:
    overlapping = NODE_LIST.replace("500, 300", "250, 300")  # the two boxes overlap
    async with serving(tmp_path) as client:
        status, answer = await render(client, {"user_id": "u", "text": NODE_LIST})
        assert status == 200 and answer["problems"] == [] and answer["results"][0]["valid"]
        status, answer = await render(client, {"user_id": "u", "text": overlapping})
        assert status == 200
        [problem] = answer["problems"]
        assert "overlaps node 1" in problem
        assert answer["results"][0]["valid"] is False  # drawn all the same
        stored = await client.get(f"/v1/diagrams/{answer['results'][0]['id']}", headers=AUTH)
        assert (await stored.json())["problems"] == [problem]
        assert (await stored.json())["description"] == ""


async def test_refusals_are_one_sentence_4xx(tmp_path: Path) -> None:
    async with serving(tmp_path, max_description_chars=50) as client:
        cases = [
            ({"user_id": "u"}, 400, "text must be a non-empty sketch or node list"),
            ({"user_id": "u", "text": "   "}, 400, "text must be a non-empty"),
            ({"user_id": "u", "text": 5}, 400, "text must be"),
            ({"text": "layers: 2 1"}, 400, "user_id must be"),
            ({"user_id": "u", "text": "x" * 32_001}, 400, "32001 characters long; the limit"),
            ({"user_id": "u", "text": "layers: 2 1\x00"}, 400, "control character (U+0000)"),
            ({"user_id": "u", "text": "hello there"}, 400, "the text cannot be drawn: no node"),
            ({"user_id": "u", "text": "layers: many"}, 400, "the text cannot be drawn"),
            (
                {"user_id": "u", "text": "layers: 2 1", "description": "d" * 51},
                400,
                "description is 51 characters long; the limit is 50",
            ),
            ({"user_id": "u", "text": "layers: 2 1", "description": 3}, 400, "description"),
            ([1, 2], 400, "the body must be a JSON object"),
        ]
        for body, status, why in cases:
            got, answer = await render(client, body)
            assert (got, why in answer["error"]) == (status, True), (body, answer)
            assert set(answer) == {"error"} and answer["error"].count(". ") == 0
        r = await client.post("/v1/render", json={"user_id": "u", "text": "layers: 2 1"})
        assert r.status == 401
        stats = await (await client.get("/v1/stats", headers=AUTH)).json()
        assert stats["requests"]["total"] == 0  # nothing refused was recorded


async def test_too_many_waiting_is_429(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(engine_module, "RENDERS_WAITING", 0)
    async with serving(tmp_path) as client:
        r = await client.post(
            "/v1/render", json={"user_id": "u", "text": "layers: 2 1"}, headers=AUTH
        )
        assert r.status == 429 and r.headers["Retry-After"] == "1"
        assert (await r.json())["retry_after"] == 1


async def test_renders_run_side_by_side_with_the_queue(tmp_path: Path) -> None:
    async with serving(tmp_path) as client:
        bodies = [{"user_id": f"u{i}", "text": f"layers: 2 {i + 2} 1"} for i in range(6)]
        answers = await asyncio.gather(
            *(render(client, b) for b in bodies),
            client.post(
                "/v1/diagrams",
                data=json.dumps({"user_id": "x", "description": "a net 2 4 1", "top": 1}),
                headers=AUTH,
            ),
        )
        assert [status for status, _ in answers[:-1]] == [200] * 6
        assert answers[-1].status == 200
        ids = {a["results"][0]["id"] for _, a in answers[:-1]}
        assert len(ids) == 6
