"""Admin commands: hidden from and refused to non-admins; a retrain announced when done."""

from __future__ import annotations

import pytest
from bot_harness import with_fake_engine
from fake_discord import ADMIN_ROLE, APP, until

ADMINISTRATOR = "8"  # the permission bit, as Discord sends it in member.permissions


@pytest.fixture
async def env(monkeypatch):
    async with with_fake_engine(monkeypatch) as pair:
        yield pair


async def test_admin_commands_are_hidden_from_non_admins(env):
    h, _ = env
    [sync] = h.discord.paths(f"/applications/{APP}/commands", "PUT")
    commands = {c["name"]: c for c in sync["json"]}
    assert set(commands) == {"diagram", "retrain", "jobs", "stats", "model"}
    for name in ("retrain", "jobs", "stats", "model"):
        assert int(commands[name]["default_member_permissions"]) == int(ADMINISTRATOR)
        assert commands[name]["dm_permission"] is False  # servers only
    assert commands["diagram"]["default_member_permissions"] is None


@pytest.mark.parametrize(
    "command", [("retrain", {}), ("jobs", {}), ("stats", {}), ("model", {"sub": "rollback"})]
)
async def test_non_admins_are_refused_at_run_time(env, command):
    h, engine = env
    name, kw = command
    data = await h.command(name, perms="0", **kw)  # e.g. a server that un-hid the command
    reply = (await h.answered(data))["json"]
    assert reply["type"] == 4 and reply["data"]["flags"] == 64
    assert reply["data"]["content"] == "Only the bot's admins can use this command."
    assert [c for c in engine.calls if c["path"].startswith("/v1/")] == []


async def test_retrain_by_the_admin_role_is_announced_when_done(env):
    h, engine = env
    data = await h.command("retrain", roles=(ADMIN_ROLE,), what="preferences")
    assert (await h.answered(data))["json"] == {"type": 5, "data": {"flags": 64}}
    followups = f"/webhooks/{APP}/{data['token']}"
    await until(lambda: h.discord.paths(followups, "POST"))
    started = h.discord.paths(followups, "POST")[0]["json"]
    assert started["content"] == "Job 1 (preferences) started. I'll tell you when it finishes."
    assert started["flags"] == 64
    await until(lambda: len(engine.paths("/v1/admin/jobs/1")) >= 2)  # being watched
    engine.finish_job(1)
    await until(lambda: len(h.discord.paths(followups, "POST")) == 2)
    done = h.discord.paths(followups, "POST")[1]["json"]
    assert done["content"] == "✅ Job 1 (preferences) is done. pairs: 12" and done["flags"] == 64


async def test_a_job_that_outlives_the_interaction_is_announced_by_dm(env):
    h, engine = env
    data = await h.command("retrain", perms=ADMINISTRATOR)
    await until(lambda: engine.paths("/v1/admin/jobs/1"))
    h.discord.skew = 15 * 60 + 1
    engine.jobs[1] |= {"status": "failed", "error": "out of memory"}
    await until(lambda: h.discord.paths("/channels/3500/messages", "POST"))
    [dm] = h.discord.paths("/channels/3500/messages", "POST")
    assert dm["json"]["content"] == "❌ Job 1 (all) failed: out of memory"
    assert int(h.discord.paths("/users/@me/channels")[0]["json"]["recipient_id"]) == 5000
    [expired] = h.discord.paths(f"/webhooks/{APP}/{data['token']}", "POST")[1:]
    assert expired["status"] == 401  # the follow-up was tried first


@pytest.mark.parametrize(
    "command, shown",
    [
        (("jobs", {}), "No jobs yet."),
        (("stats", {}), "model `base` · queue 0 · requests 3 · ratings 0 · users 1"),
        (("model", {"sub": "list"}), "`base` 2023-11-14 22:13 serving"),
        (("model", {"sub": "promote", "version": "base"}), "Now serving `base`."),
        (("model", {"sub": "promote", "version": "v9"}), "The engine said: no such model version"),
        (("model", {"sub": "rollback"}), "The engine said: nothing to roll back"),
    ],
)
async def test_admin_views(env, command, shown):
    h, _ = env
    name, kw = command
    data = await h.command(name, perms=ADMINISTRATOR, **kw)
    followups = f"/webhooks/{APP}/{data['token']}"
    await until(lambda: h.discord.paths(followups, "POST"))
    content = h.discord.paths(followups, "POST")[0]["json"]["content"]
    assert content.startswith(shown)
