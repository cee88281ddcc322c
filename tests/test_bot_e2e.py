"""End to end on loopback: INTERACTION_CREATE -> the real engine app (demo backend: real
layout, rendering, scoring and storage, no language model) -> posted PNGs -> a reaction ->
the rating row in the engine's SQLite database."""

from __future__ import annotations

import sqlite3

from aiohttp.test_utils import TestServer
from bot_harness import running
from fake_discord import until
from fake_engine import SECRET

from bot.reactions import KEYCAPS
from engine.service.app import create_app
from engine.service.config import Settings
from engine.service.demo_backend import DemoBackend, DemoTrainer

ALICE = 5000


def ratings(database: str) -> list[tuple[str, str, int]]:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT user_id, diagram_id, score FROM ratings").fetchall()


async def test_from_interaction_to_a_rating_in_sqlite(monkeypatch, tmp_path):
    settings = Settings(
        secret=SECRET, data_dir=tmp_path, retrain_interval_min=0.0, batch_window_ms=5.0
    )
    app = create_app(settings, DemoBackend(), DemoTrainer())
    async with TestServer(app, host="127.0.0.1") as engine:
        url = str(engine.make_url("")).rstrip("/")
        async with running(monkeypatch, url) as h:
            data = await h.command(
                "diagram",
                description="an MLP with 3 inputs, 5 hidden and 2 outputs",
                candidates=4,
                top=2,
            )
            posted = await h.diagrams_posted(2)
            assert h.discord.edits(data["token"])[-1].startswith("Top 2 of 4 candidates")
            [png, text] = posted[0]["attachments"]
            diagram_id = png["filename"][len("diagram-") : -len(".png")]
            uploads = [p for c in h.discord.paths("/webhooks/", "POST") for p in c["parts"]]
            assert any(f == png["filename"] and d.startswith(b"\x89PNG") for _, f, d in uploads)
            database = str(tmp_path / "engine.sqlite3")
            await h.discord.react(ALICE, int(posted[0]["id"]), KEYCAPS[3])
            await until(lambda: ratings(database) == [(str(ALICE), diagram_id, 4)])
            await h.discord.unreact(ALICE, int(posted[0]["id"]), KEYCAPS[3])
            await until(lambda: ratings(database) == [])
