"""Reactions -> ratings, from the raw gateway events, so messages posted before a restart
count too. The diagram id comes from the message itself (bot/posted.py); the rule for a
person's rating is in bot/reactions.py.

Ignored: the bot's own reactions (and other bots'), emojis that are not ratings, messages
that are not the bot's diagrams. Events of one person on one message are applied in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import discord
from discord.ext import commands

from bot.engine_client import EngineClient, EngineError
from bot.posted import diagram_id_of
from bot.reactions import score_of

log = logging.getLogger(__name__)
Key = tuple[int, int]  # (user id, message id)


@dataclass
class _Turn:
    """One key's lock, kept while any handler holds or waits for it."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class RatingsCog(commands.Cog):
    def __init__(self, bot: commands.Bot, engine: EngineClient) -> None:
        self.bot = bot
        self.engine = engine
        self._turns: dict[Key, _Turn] = {}

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if self._ignored(payload) or (payload.member is not None and payload.member.bot):
            return
        if payload.message_author_id not in (None, self._me):
            return
        async with self._in_order((payload.user_id, payload.message_id)):
            message = await self._diagram_message(payload)
            if message is None:
                return
            diagram_id, _ = message
            score = score_of(payload.emoji)
            assert score is not None
            await self._apply(payload.user_id, diagram_id, score)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        if self._ignored(payload):
            return
        async with self._in_order((payload.user_id, payload.message_id)):
            message = await self._diagram_message(payload)
            if message is None:
                return
            diagram_id, fetched = message
            left = await _scores_left(fetched, payload.user_id)
            await self._apply(payload.user_id, diagram_id, max(left, default=None))

    @property
    def _me(self) -> int:
        assert self.bot.user is not None
        return self.bot.user.id

    def _ignored(self, payload: discord.RawReactionActionEvent) -> bool:
        return payload.user_id == self._me or score_of(payload.emoji) is None

    async def _diagram_message(
        self, payload: discord.RawReactionActionEvent
    ) -> tuple[str, discord.Message] | None:
        channel = self.bot.get_partial_messageable(payload.channel_id, guild_id=payload.guild_id)
        try:
            message = await channel.fetch_message(payload.message_id)
        except discord.HTTPException as e:
            log.info("reaction on message %s: cannot read it (%s)", payload.message_id, e)
            return None
        diagram_id = diagram_id_of(message, self._me)
        return None if diagram_id is None else (diagram_id, message)

    async def _apply(self, user_id: int, diagram_id: str, score: int | None) -> None:
        try:
            if score is None:
                await self.engine.unrate(str(user_id), diagram_id)
            else:
                await self.engine.rate(str(user_id), diagram_id, score)
        except EngineError as e:
            log.warning(
                "rating of diagram %s by %s (%s) not saved: status=%s %s",
                diagram_id,
                user_id,
                score,
                e.status,
                e.message,
            )
            return
        log.info("rating of diagram %s by %s: %s", diagram_id, user_id, score)

    @asynccontextmanager
    async def _in_order(self, key: Key) -> AsyncIterator[None]:
        """Handlers of one key run one at a time, in the order the events arrived."""
        turn = self._turns.setdefault(key, _Turn())
        turn.users += 1
        try:
            async with turn.lock:
                yield
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._turns[key]


async def _scores_left(message: discord.Message, user_id: int) -> list[int]:
    """The rating keycaps this person still has on the message."""
    left = []
    for reaction in message.reactions:
        score = score_of(reaction.emoji)
        if score is None or reaction.count <= int(reaction.me):  # nobody but the bot
            continue
        async for user in reaction.users(limit=None):
            if user.id == user_id:
                left.append(score)
                break
    return left
