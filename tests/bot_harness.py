"""The bot under test, running against the fake Discord and an engine, all on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fake_discord import FakeDiscord, interaction, until
from fake_engine import SECRET, FakeEngine

from bot.client import DiagramBot
from bot.config import BotSettings

TOKEN = "MTAwMA.fake-discord-token.0123456789abcdef"


class Records(logging.Handler):
    """Every log record of the run, to assert on warnings and errors."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def at_least(self, level: int) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= level]


@dataclasses.dataclass
class Harness:
    discord: FakeDiscord
    engine_url: str
    settings: BotSettings
    logs: Records
    bot: DiagramBot | None = None
    task: asyncio.Task[None] | None = None

    async def start_bot(self) -> DiagramBot:
        self.bot = DiagramBot(self.settings, guild_ready_timeout=0.01)
        self.bot.engine.backoff_s = 0.01  # retries, but fast
        await self.bot.login(self.settings.token.get_secret_value())
        self.task = asyncio.create_task(self.bot.connect())
        await asyncio.wait_for(self.bot.wait_until_ready(), 5)
        return self.bot

    async def stop_bot(self) -> None:
        if self.bot is not None:
            await self.bot.close()
            assert self.task is not None
            await self.task
            self.bot = None

    async def restart(self) -> DiagramBot:
        await self.stop_bot()
        return await self.start_bot()

    async def command(self, name: str, **kw: Any) -> dict[str, Any]:
        """Send an app command as a person would; returns the INTERACTION_CREATE data."""
        data = interaction(name, **kw)
        await self.discord.dispatch("INTERACTION_CREATE", data)
        return data

    async def click(self, message_id: int | str, custom_id: str, **kw: Any) -> dict[str, Any]:
        """Click a button of a bot's message as a person would (INTERACTION_CREATE type 3)."""
        data = self.discord.click(int(message_id), custom_id, **kw)
        await self.discord.dispatch("INTERACTION_CREATE", data)
        return data

    async def submit(self, custom_id: str, value: str, **kw: Any) -> dict[str, Any]:
        """Submit a form with this text (INTERACTION_CREATE type 5)."""
        data = self.discord.submit(custom_id, value, **kw)
        await self.discord.dispatch("INTERACTION_CREATE", data)
        return data

    async def answered(self, data: dict[str, Any]) -> dict[str, Any]:
        """The interaction's callback (its first response), once it has come."""
        path = f"/interactions/{data['id']}/"
        await until(lambda: self.discord.paths(path))
        return self.discord.paths(path)[0]

    async def diagrams_posted(self, n: int) -> list[dict[str, Any]]:
        """The first n diagram messages, once each has all five rating reactions."""
        d = self.discord
        await until(lambda: len(d.posted()) >= n)
        posted = d.posted()[:n]
        await until(lambda: all(len(d.reactions.get(int(m["id"]), {})) == 5 for m in posted))
        return posted


def assert_no_pings(fake: FakeDiscord) -> None:
    """Every message the bot sent or edited carried allowed_mentions none."""
    sent = [c for c in fake.calls if c["method"] in ("POST", "PATCH") and "json" in c]
    sent = [c for c in sent if "content" in c["json"] or "content" in c["json"].get("data", {})]
    assert sent
    for c in sent:
        mentions = c["json"].get("allowed_mentions") or c["json"]["data"].get("allowed_mentions")
        assert mentions == {"parse": []}, c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def settings(engine_url: str, **overrides: Any) -> BotSettings:
    base = BotSettings(
        token=TOKEN,
        engine_url=engine_url,
        engine_secret=SECRET,
        admin_role="diagram admins",
        job_poll_s=0.02,
        requests_per_minute=100,
    )
    return base.model_copy(update=overrides)


@asynccontextmanager
async def running(
    monkeypatch: Any, engine_url: str, allowed: int = logging.WARNING, **overrides: Any
) -> AsyncIterator[Harness]:
    """Fake Discord plus the bot; no log record above `allowed` may appear."""
    fake = await FakeDiscord().start()
    fake.patch(monkeypatch)
    logs = Records()
    root, ours = logging.getLogger(), logging.getLogger("bot")
    root.addHandler(logs)
    level = ours.level
    ours.setLevel(logging.INFO)  # the bot's own INFO lines are recorded too
    h = Harness(fake, engine_url, settings(engine_url, **overrides), logs)
    try:
        await h.start_bot()
        yield h
    finally:
        await h.stop_bot()
        await fake.close()
        root.removeHandler(logs)
        ours.setLevel(level)
    assert not [r for r in logs.records if r.levelno > allowed], logs.at_least(allowed + 1)


@asynccontextmanager
async def with_fake_engine(
    monkeypatch: Any, **overrides: Any
) -> AsyncIterator[tuple[Harness, FakeEngine]]:
    engine = await FakeEngine().start()
    try:
        async with running(monkeypatch, engine.url, **overrides) as h:
            yield h, engine
    finally:
        await engine.close()
