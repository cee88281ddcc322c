"""/diagram through the real discord.py client: fake Discord and fake engine on loopback."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest
from bot_harness import assert_no_pings, free_port, running, with_fake_engine
from fake_discord import APP, CHAN, until
from fake_engine import FakeEngine, canned, preview

from bot.reactions import KEYCAPS


@pytest.fixture
async def env(monkeypatch):
    async with with_fake_engine(monkeypatch) as pair:
        yield pair


async def test_defer_then_progress_edits_then_posts_with_pngs(env):
    h, engine = env
    engine.hold = asyncio.Queue()
    data = await h.command("diagram", description="an MLP with 2 inputs, 3 hidden, 1 output", top=3)
    callback = await h.answered(data)
    assert callback["json"] == {"type": 5}  # deferred, "thinking..."
    token = data["token"]
    for expected in (
        "⏳ Waiting in the queue, position 2…",
        "⏳ Waiting in the queue, position 1…",
        "✏️ Drawing 8 candidates…",
        "📊 Ranking the candidates for you…",
    ):
        engine.hold.put_nowait(None)
        await until(lambda e=expected: h.discord.edits(token)[-1:] == [e])
    engine.hold.put_nowait(None)  # done
    posted = await h.diagrams_posted(3)
    assert h.discord.edits(token)[-1].startswith("Top 3 of 8 candidates for “an MLP with 2 inputs")
    for rank, message in enumerate(posted, 1):
        assert message["content"].startswith(f"**#{rank}** of 3 · readability")
        assert "your expected rating" in message["content"]
        names = [a["filename"] for a in message["attachments"]]
        assert names[0].startswith("diagram-") and names[0].endswith(".png")
        assert names[1] == names[0].replace(".png", ".txt")
        assert list(h.discord.reactions[int(message["id"])]) == list(KEYCAPS)
    uploads = [p for c in h.discord.paths(f"/webhooks/{APP}/{token}", "POST") for p in c["parts"]]
    pngs = [content for _, name, content in uploads if name and name.endswith(".png")]
    # the engine's previews (renders cropped to the drawing), byte for byte
    assert pngs == [preview(png) for _, _, png in canned()]
    assert all(len(p) != len(png) for p, (_, _, png) in zip(pngs, canned(), strict=True))
    assert pngs[0].startswith(b"\x89PNG\r\n\x1a\n")
    texts = [content for _, name, content in uploads if name and name.endswith(".txt")]
    assert texts == [sketch.encode() for sketch, _, _ in canned()]  # valid: the sketch
    [asked] = engine.paths("/v1/diagrams")
    assert asked["json"] == {
        "user_id": "5000",
        "description": "an MLP with 2 inputs, 3 hidden, 1 output",
        "candidates": 8,
        "top": 3,
    }
    assert_no_pings(h.discord)


async def test_deferral_comes_first_and_a_late_command_is_dropped_cleanly(env):
    h, engine = env
    engine.hold = asyncio.Queue()  # the engine answers nothing for now
    data = await h.command("diagram", description="a net 2 4 1")
    callback = await h.answered(data)
    await until(lambda: engine.paths("/v1/diagrams"))
    assert callback["status"] == 200 and callback["t"] < engine.paths("/v1/diagrams")[0]["t"]
    for _ in range(6):
        engine.hold.put_nowait(None)
    await h.diagrams_posted(3)

    late = await h.command("diagram", age=4, description="a net 2 4 1", uid=5001)  # 4 s old
    assert (await h.answered(late))["status"] == 404  # Discord: unknown interaction
    await until(lambda: any("3 s had passed" in m for m in h.logs.at_least(logging.WARNING)))
    assert len(engine.paths("/v1/diagrams")) == 1  # the engine was not bothered
    again = await h.command("diagram", description="a net 2 4 1", uid=5001)
    assert (await h.answered(again))["json"] == {"type": 5}  # the person's slot was freed


async def test_after_15_minutes_the_answer_goes_to_the_channel(env):
    h, engine = env
    engine.hold = asyncio.Queue()
    data = await h.command("diagram", description="flow: load, train")
    await h.answered(data)
    for _ in range(4):
        engine.hold.put_nowait(None)
    await until(
        lambda: h.discord.edits(data["token"])[-1:] == ["📊 Ranking the candidates for you…"]
    )
    h.discord.skew = 15 * 60 + 1  # generation took "15 minutes"
    engine.hold.put_nowait(None)
    posted = await h.diagrams_posted(3)
    assert all(m["channel_id"] == str(CHAN) for m in posted)
    channel_posts = h.discord.paths(f"/channels/{CHAN}/messages", "POST")
    header = channel_posts[0]["json"]["content"]
    assert header.startswith("<@5000>, your diagrams for “flow: load, train” took longer")
    assert "Top 3 of 8 candidates" in header
    assert len(channel_posts) == 4 and all("parts" in c for c in channel_posts[1:])
    assert_no_pings(h.discord)


async def test_a_429_on_a_follow_up_is_retried(env):
    h, _ = env
    h.discord.rate_limit["POST /webhooks"] = 0.05
    data = await h.command("diagram", description="a net 2 4 1")
    await h.diagrams_posted(3)
    first, retried, *rest = h.discord.paths(f"/webhooks/{APP}/{data['token']}", "POST")
    assert (first["status"], retried["status"]) == (429, 200) and first["parts"] == retried["parts"]
    assert len(rest) == 2


async def test_over_long_description_is_refused_with_the_limit(env):
    h, engine = env
    data = await h.command("diagram", description="x" * 1001)
    callback = await h.answered(data)
    assert callback["json"]["type"] == 4 and callback["json"]["data"]["flags"] == 64
    text = callback["json"]["data"]["content"]
    assert "1001 characters long; the limit is 1000" in text
    data = await h.command("diagram", description="a net", candidates=2, top=3)
    text = (await h.answered(data))["json"]["data"]["content"]
    assert "top cannot exceed candidates" in text
    assert engine.paths("/v1/diagrams") == []


async def test_per_user_limits_in_flight_and_per_minute(monkeypatch):
    async with with_fake_engine(monkeypatch, requests_per_minute=2) as (h, engine):
        engine.hold = asyncio.Queue()
        first = await h.command("diagram", description="a net 2 4 1")
        assert (await h.answered(first))["json"] == {"type": 5}
        busy = await h.command("diagram", description="another")
        text = (await h.answered(busy))["json"]["data"]["content"]
        assert (
            text == "You already have a diagram in progress. Wait for it to finish, then ask again."
        )
        other = await h.command("diagram", description="someone else's", uid=5001)
        assert (await h.answered(other))["json"] == {"type": 5}  # others are not held up
        for _ in range(12):
            engine.hold.put_nowait(None)
        await h.diagrams_posted(6)
        engine.hold = None
        await until(lambda: not h.bot.limits.in_flight)
        second = await h.command("diagram", description="a net 2 4 1")
        assert (await h.answered(second))["json"] == {"type": 5}
        await h.diagrams_posted(9)
        await until(lambda: not h.bot.limits.in_flight)
        third = await h.command("diagram", description="a net 2 4 1")
        text = (await h.answered(third))["json"]["data"]["content"]
        assert re.fullmatch(
            r"You can ask for 2 diagrams a minute\. Please try again in 6\d s\.", text
        )


@pytest.mark.parametrize(
    "failure, shown",
    [
        (
            {"fail_with": {"status": 500, "error": "generation failed: boom"}},
            "💥 The diagram engine failed on this request. (ref ",
        ),
        (
            {
                "refuse": (
                    429,
                    {"error": "the queue is full", "queue_position": 65, "retry_after": 7},
                )
            },
            "🚦 The diagram engine is busy; please try again in 7 s.",
        ),
        (
            {"fail_with": {"status": 504, "error": "no answer within 120 s"}},
            "⌛ The diagram engine could not finish in time",
        ),
        (
            {"refuse": (400, {"error": "description is 900 characters long; the limit is 800"})},
            "The diagram engine refused this request: description is 900 characters long",
        ),
        (
            {"refuse": (401, {"error": "missing or wrong shared secret"})},
            "💥 The bot is not set up right: the engine refused its secret. (ref ",
        ),
    ],
)
async def test_engine_failures_end_in_one_clear_message(env, failure, shown):
    h, engine = env
    for attribute, value in failure.items():
        setattr(engine, attribute, value)
    data = await h.command("diagram", description="a net 2 4 1")
    await until(lambda: any(shown in e for e in h.discord.edits(data["token"])))
    assert h.discord.posted() == []
    warnings = h.logs.at_least(logging.WARNING)
    assert any(w.startswith("diagram ref=") for w in warnings)
    if "(ref " in shown:
        ref = h.discord.edits(data["token"])[-1].split("(ref ")[1].rstrip(")")
        assert any(f"ref={ref}" in w for w in warnings)
        assert engine.paths("/v1/diagrams")[0]["ref"] == ref


async def test_engine_down_then_back(monkeypatch):
    port = free_port()
    async with running(monkeypatch, f"http://127.0.0.1:{port}") as h:
        data = await h.command("diagram", description="a net 2 4 1")
        await until(lambda: h.discord.edits(data["token"]))
        [text] = h.discord.edits(data["token"])
        assert text.startswith("🔌 The diagram engine is unreachable right now; please try again")
        ref = text.split("(ref ")[1].rstrip(")")
        assert any(
            f"ref={ref}" in w and "unreachable" in w for w in h.logs.at_least(logging.WARNING)
        )
        engine = await FakeEngine().start(port=port)  # the engine comes back
        try:
            await h.command("diagram", description="a net 2 4 1")
            await h.diagrams_posted(3)
        finally:
            await engine.close()


async def test_slow_engine_times_out_with_a_message(monkeypatch):
    async with with_fake_engine(monkeypatch, engine_timeout_s=0.3) as (h, engine):
        engine.hold = asyncio.Queue()  # never answers
        data = await h.command("diagram", description="a net 2 4 1")
        await until(
            lambda: any(
                e.startswith("⌛ The diagram engine is too slow")
                for e in h.discord.edits(data["token"])
            )
        )


async def test_without_add_reactions_permission_the_diagrams_still_come(env):
    h, _ = env
    h.discord.forbid.add("PUT /channels")  # adding reactions
    data = await h.command("diagram", description="a net 2 4 1")
    await until(lambda: len(h.discord.posted()) == 3)
    await until(
        lambda: any("cannot add rating reactions" in w for w in h.logs.at_least(logging.WARNING))
    )
    assert len(h.discord.paths("/channels/", "PUT")) == 1  # tried once, then left to people
    assert h.discord.edits(data["token"])[-1].startswith("Top 3 of 8")


async def test_a_blank_description_is_refused(env):
    h, engine = env
    data = await h.command("diagram", description="   ")
    assert (await h.answered(data))["json"]["data"]["content"].startswith("Please describe")
    assert engine.paths("/v1/diagrams") == []
