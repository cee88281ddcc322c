"""End to end on loopback: a click on Edit -> the form -> its submit -> the real engine's
POST /v1/render (real reading, validation, rendering, SQLite) -> the posted redraw -> a
rating row; and SVG from the real engine."""

from __future__ import annotations

import sqlite3

from aiohttp.test_utils import TestServer
from bot_harness import running
from fake_discord import APP, until
from fake_engine import SECRET

from bot.reactions import KEYCAPS
from engine.service.app import create_app
from engine.service.config import Settings
from engine.service.demo_backend import DemoBackend, DemoTrainer

BOB = 5001


def rows(database: str, sql: str) -> list[tuple]:
    with sqlite3.connect(database) as db:
        return db.execute(sql).fetchall()


async def test_edit_and_redraw_through_the_real_engine(monkeypatch, tmp_path):
    settings = Settings(
        secret=SECRET, data_dir=tmp_path, retrain_interval_min=0.0, batch_window_ms=5.0
    )
    app = create_app(settings, DemoBackend(), DemoTrainer())
    async with TestServer(app, host="127.0.0.1") as engine:
        url = str(engine.make_url("")).rstrip("/")
        async with running(monkeypatch, url) as h:
            description = "an MLP with 3 inputs, 5 hidden and 2 outputs"
            await h.command("diagram", description=description, candidates=2, top=1)
            [first] = await h.diagrams_posted(1)
            old = first["attachments"][0]["filename"][len("diagram-") : -len(".png")]
            click = await h.click(first["id"], f"dg:edit:{old}", uid=BOB)
            await h.answered(click)
            form = h.discord.modals[click["id"]]
            assert form["components"][0]["component"]["value"].startswith("layers:")
            data = await h.submit(
                form["custom_id"], "layers: 3 6 2\nlabels: in | hidden | out", uid=BOB
            )
            [_, redraw] = await h.diagrams_posted(2)
            assert h.discord.edits(data["token"])[-1].startswith("Redrawn from your text.")
            new = redraw["attachments"][0]["filename"][len("diagram-") : -len(".png")]
            database = str(tmp_path / "engine.sqlite3")
            stored = rows(
                database,
                "SELECT r.user_id, r.description, d.text, d.model_version FROM diagrams d"
                f" JOIN requests r ON r.id = d.request_id WHERE d.id = '{new}'",
            )
            assert stored == [
                (str(BOB), description, "layers: 3 6 2\nlabels: in | hidden | out", "render")
            ]
            await h.discord.react(BOB, int(redraw["id"]), KEYCAPS[4])
            await until(
                lambda: (
                    rows(database, "SELECT user_id, diagram_id, score FROM ratings")
                    == [(str(BOB), new, 5)]
                )
            )
            svg = await h.click(redraw["id"], f"dg:svg:{new}")
            path = f"/webhooks/{APP}/{svg['token']}"
            await until(lambda: h.discord.paths(path, "POST"))
            [sent] = h.discord.paths(path, "POST")
            [(_, name, content)] = [p for p in sent["parts"] if p[0] != "payload_json"]
            assert name == f"diagram-{new}.svg" and b"<svg" in content[:300]
