"""Reactions on posted diagrams become ratings at the engine, also after a bot restart."""

from __future__ import annotations

import logging

import pytest
from bot_harness import with_fake_engine
from fake_discord import APP, CHAN, until, user

from bot.reactions import KEYCAPS

ONE, TWO, THREE, FOUR, FIVE = KEYCAPS
ALICE, BOB = 5000, 5001


@pytest.fixture
async def env(monkeypatch):
    async with with_fake_engine(monkeypatch) as (h, engine):
        await h.command("diagram", description="a net 2 4 1", top=2)
        posted = await h.diagrams_posted(2)
        ids = [m["attachments"][0]["filename"][len("diagram-") : -len(".png")] for m in posted]
        yield h, engine, [int(m["id"]) for m in posted], ids


async def test_add_change_and_remove(env):
    h, engine, (message, other), (diagram, _) = env
    fake = h.discord
    await fake.react(ALICE, message, FOUR)
    await until(lambda: engine.ratings == {(str(ALICE), diagram): 4})
    await fake.react(ALICE, message, TWO)  # changed her mind; both keycaps stay on Discord
    await until(lambda: engine.ratings == {(str(ALICE), diagram): 2})
    await fake.react(BOB, message, FIVE)
    await until(lambda: engine.ratings.get((str(BOB), diagram)) == 5)
    await fake.unreact(ALICE, message, FOUR)  # the old keycap: her rating stays 2
    await until(lambda: len(engine.paths("/v1/ratings")) == 4)
    assert engine.ratings[(str(ALICE), diagram)] == 2
    await fake.unreact(ALICE, message, TWO)  # the last one: her rating is gone
    await until(lambda: engine.ratings == {(str(BOB), diagram): 5})
    assert engine.calls[-1]["method"] == "DELETE"


async def test_removing_the_newer_keycap_falls_back_to_the_one_left(env):
    h, engine, (message, _), (diagram, _) = env
    await h.discord.react(ALICE, message, TWO)
    await h.discord.react(ALICE, message, FIVE)
    await until(lambda: engine.ratings == {(str(ALICE), diagram): 5})
    await h.discord.unreact(ALICE, message, FIVE)
    await until(lambda: engine.ratings == {(str(ALICE), diagram): 2})


async def test_a_reaction_after_a_restart_still_counts(env):
    h, engine, (_, message), (_, diagram) = env
    await h.restart()  # a new process: nothing in memory about earlier messages
    await h.discord.react(ALICE, message, THREE)
    await until(lambda: engine.ratings == {(str(ALICE), diagram): 3})


async def test_ignored_reactions(env):
    h, engine, (message, _), _ = env
    fake = h.discord
    await fake.react(APP, message, FIVE)  # the bot's own
    await fake.react(ALICE, message, "👍")  # not a rating
    fake.messages[42] = fake.messages[message] | {"id": "42", "attachments": []}  # no diagram
    await fake.react(ALICE, 42, FIVE)
    other = fake.messages[message] | {"id": "43", "author": user(ALICE)}
    fake.messages[43] = other  # a person's message with a look-alike attachment
    await fake.react(ALICE, 43, FIVE)
    await fake.unreact(ALICE, 43, FIVE)
    await fake.react(ALICE, 44, FIVE)  # a message that does not exist (any more)
    await fake.react(ALICE, message, ONE)  # the only one that counts
    await until(lambda: engine.paths("/v1/ratings"))
    for gone in (42, 43, 44):  # each was fetched to find out (the add on 43 is filtered earlier)
        await until(lambda g=gone: fake.paths(f"/channels/{CHAN}/messages/{g}", "GET"))
    assert len(engine.paths("/v1/ratings")) == 1 and len(engine.ratings) == 1


async def test_engine_down_while_rating_is_logged_and_survived(monkeypatch):
    async with with_fake_engine(monkeypatch) as (h, engine):
        await h.command("diagram", description="a net 2 4 1", top=1)
        [posted] = await h.diagrams_posted(1)
        message = int(posted["id"])
        engine.diagrams.clear()  # the engine forgot it (e.g. a fresh database): 404
        await h.discord.react(ALICE, message, FOUR)
        await until(lambda: any("not saved" in w for w in h.logs.at_least(logging.WARNING)))
        engine.diagrams.add(posted["attachments"][0]["filename"][8:-4])
        await h.discord.react(BOB, message, FOUR)
        await until(
            lambda: engine.ratings == {(str(BOB), posted["attachments"][0]["filename"][8:-4]): 4}
        )


async def test_a_quick_add_then_remove_ends_with_no_rating(env):
    h, engine, (message, _), _ = env
    engine.slow["PUT /v1/ratings"] = 0.2  # the addition's rating is slow to save
    await h.discord.react(ALICE, message, FOUR)
    await h.discord.unreact(ALICE, message, FOUR)  # before the bot has handled the addition
    saved = lambda: [m for m in h.logs.at_least(logging.INFO) if m.startswith("rating of")]  # noqa: E731
    await until(lambda: len(saved()) == 2)  # both handlers are done
    assert [c["method"] for c in engine.paths("/v1/ratings")] == ["PUT", "DELETE"]
    assert engine.ratings == {}
