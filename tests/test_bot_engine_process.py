"""The whole way, on loopback: INTERACTION_CREATE -> the real bot -> a real engine process
(`python -m diagrammer engine`, the pipeline backend on a tiny trained language model, the
shipped CNN and auto-encoder) -> posted PNGs -> a reaction -> the rating row in SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from bot_harness import running
from engine_process import DESCRIPTION, SKETCH, EngineProcess, engine_process, train_sketcher
from fake_discord import until

from bot.reactions import KEYCAPS
from engine.diagram.read import to_diagram
from engine.diagram.render import preview_png, render

ALICE = 5000  # who sends a command unless told (fake_discord.interaction)
BOB = 5001
DEFERRED = 5  # the interaction callback type: "thinking...", edited later
ANSWER_TIMEOUT_S = 60.0  # the engine's first request warms up torch, on busy cores
PROGRESS = ("⏳", "✏️", "📊")  # bot/messages.py progress: queued, generating, ranking


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[EngineProcess]:
    model = train_sketcher(tmp_path / "model")
    with engine_process(model, tmp_path, max_new_tokens=80) as process:
        yield process


def query(database: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(database) as db:
        return db.execute(sql, params).fetchall()


@pytest.mark.slow  # the engine process imports torch and transformers: ~10-25 s on 2 cores
async def test_from_interaction_to_a_rating_stored_by_the_engine_process(monkeypatch, engine):
    async with running(monkeypatch, engine.url) as h:
        data = await h.command("diagram", description=DESCRIPTION, candidates=2, top=1)
        assert (await h.answered(data))["json"]["type"] == DEFERRED
        await until(h.discord.posted, timeout=ANSWER_TIMEOUT_S)
        [posted] = await h.diagrams_posted(1)
        *progress, summary = h.discord.edits(data["token"])
        assert progress and all(line.startswith(PROGRESS) for line in progress), progress
        assert summary.startswith("Top 1 of 2 candidates")
        png = posted["attachments"][0]
        diagram_id = png["filename"][len("diagram-") : -len(".png")]
        uploads = [p for c in h.discord.paths("/webhooks/", "POST") for p in c["parts"]]
        [received] = [d for _, f, d in uploads if f == png["filename"]]
        # the preview of the sketch the model learned (its render cropped to the drawing)
        assert received == preview_png(render(to_diagram(SKETCH).diagram))
        stored = "SELECT text, rank FROM diagrams WHERE id = ?"
        assert query(engine.database, stored, diagram_id) == [(SKETCH, 1)]

        await h.discord.react(ALICE, int(posted["id"]), KEYCAPS[3])
        rows = "SELECT user_id, diagram_id, score FROM ratings"
        await until(lambda: query(engine.database, rows) == [(str(ALICE), diagram_id, 4)])


async def test_an_engine_process_that_dies_is_reported_as_unreachable(monkeypatch, tmp_path):
    with engine_process(None, tmp_path) as engine:  # the demo backend: no model needed here
        async with running(monkeypatch, engine.url) as h:
            await h.command("diagram", description="a net 2 4 1", candidates=2, top=1)
            await until(h.discord.posted, timeout=ANSWER_TIMEOUT_S)
            # The bot's session now pools a connection to the process; it goes away.
            engine.stop()
            data = await h.command("diagram", uid=BOB, description="a net 2 4 1", candidates=2)
            await until(lambda: len(h.discord.edits(data["token"])) > 0)
            [text] = h.discord.edits(data["token"])
            assert text.startswith("🔌 The diagram engine is unreachable right now")
