"""The bot's small parts on their own: limits, the emoji mapping, settings, the NDJSON reader."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import discord
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot import messages
from bot.cogs.diagram import DiagramCog
from bot.config import BotSettings
from bot.drawing import editable_text
from bot.engine_client import Drawn, EngineClient, EngineError
from bot.limits import UserLimits
from bot.reactions import KEYCAPS, emoji_of, score_of
from engine.service.config import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limits_in_flight_then_per_minute_with_the_wait():
    clock = Clock()
    limits = UserLimits(in_flight=1, per_minute=2, clock=clock)
    assert limits.acquire(1) is None
    refusal = limits.acquire(1)
    assert refusal is not None and (refusal.reason, refusal.limit) == ("in_flight", 1)
    assert limits.acquire(2) is None  # someone else
    limits.release(1)
    clock.now += 10
    assert limits.acquire(1) is None
    limits.release(1)
    clock.now += 5
    refusal = limits.acquire(1)
    assert refusal is not None and (refusal.reason, refusal.wait_s) == ("per_minute", 45)
    clock.now += 45
    assert limits.acquire(1) is None  # the first request left the window
    limits.release(1)
    limits.release(2)
    clock.now += 3600
    assert limits.acquire(3) is None
    assert set(limits.started) == {3}  # idle people are forgotten


def test_keycaps_are_the_scores_and_nothing_else_is():
    assert [score_of(e) for e in KEYCAPS] == [1, 2, 3, 4, 5]
    assert score_of("4\u20e3") == 4  # without the presentation selector
    assert score_of(discord.PartialEmoji(name="5\ufe0f\u20e3")) == 5
    assert score_of(discord.PartialEmoji(name="5\ufe0f\u20e3", id=123)) is None  # custom emoji
    assert score_of("👍") is None and score_of("6\ufe0f\u20e3") is None
    assert [emoji_of(s) for s in range(1, 6)] == list(KEYCAPS)


async def test_a_done_event_far_over_aiohttps_line_limit_is_read():
    big = "A" * 600_000  # a PNG's base64; aiohttp's own readline stops at 128 KiB
    result = {"id": "ab", "rank": 1, "png_base64": big, "valid": True}

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for event in (
            {"event": "generating"},
            {"event": "done", "request_id": "r", "model_version": "v", "results": [result]},
        ):
            line = json.dumps(event).encode() + b"\n"
            for i in range(0, len(line), 7000):  # arbitrary chunk borders
                await response.write(line[i : i + 7000])
        return response

    app = web.Application()
    app.add_routes([web.post("/v1/diagrams", stream)])
    async with TestServer(app) as server:
        client = EngineClient(str(server.make_url("")), "s")
        seen: list[dict] = []
        try:
            drawing = await client.draw("1", "x", 1, 1, seen.append)
        finally:
            await client.close()
    assert seen == [{"event": "generating"}]
    assert len(drawing.results[0].png) == len(big) * 3 // 4


async def test_a_stream_that_ends_without_done_is_an_error():
    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b'{"event": "queued", "position": 1}\n')
        return response

    app = web.Application()
    app.add_routes([web.post("/v1/diagrams", stream)])
    async with TestServer(app) as server:
        client = EngineClient(str(server.make_url("")), "s")
        try:
            with pytest.raises(EngineError, match="closed the stream"):
                await client.draw("1", "x", 1, 1, lambda e: None)
        finally:
            await client.close()


ROOT = Path(__file__).resolve().parents[1]


def test_the_bot_asks_within_the_engines_limits():
    engine = Settings()  # the engine's defaults, as the bot's come from common/limits.py
    bot, options = BotSettings(), {p.name: p for p in DiagramCog.diagram.parameters}
    assert bot.max_description_chars == engine.max_description_chars
    assert (bot.candidates, bot.top) == (engine.default_candidates, engine.default_top)
    assert options["candidates"].max_value == engine.max_candidates
    assert options["top"].max_value == engine.max_top


def test_the_invite_link_in_the_docs_asks_for_exactly_the_needed_permissions():
    link = re.search(r"scope=([\w+.]+)&permissions=(\d+)", (ROOT / "docs/bot.md").read_text())
    assert link is not None and link.group(1) == "bot+applications.commands"
    granted = {name for name, on in discord.Permissions(int(link.group(2))) if on}
    needed = {"read_messages", "send_messages", "embed_links", "attach_files"}
    assert granted == needed | {"add_reactions", "read_message_history"}


def test_the_compact_line_of_a_diagram():
    d = Drawn("ab", 2, b"", None, None, True, 0.834, 3.96, 0.6, True)
    assert (
        messages.result_line(d, 3) == "**#2** of 3 · readability 83% · your expected rating 4.0/5"
    )
    d = dataclasses.replace(d, confidence=0.05, fidelity_exact=False, readability=None)
    assert messages.result_line(d, 3) == (
        "**#2** of 3 · your expected rating 4.0/5 (a first guess)"
        " · ⚠️ does not match every number you gave"
    )


def test_the_bot_imports_no_model_code():
    code = (
        "import sys, bot.client, diagrammer.commands.bot\n"
        "heavy = ('torch', 'transformers', 'engine', 'cv2', 'numpy')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_text_offered_for_editing():
    d = Drawn("ab", 1, b"", "[0, 100, 100, ...]", "layers: 2 1", True, None, None, None, None)
    assert editable_text(d) == "layers: 2 1"  # valid: the short sketch
    assert editable_text(dataclasses.replace(d, valid=False)) == "[0, 100, 100, ...]"
