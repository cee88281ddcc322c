"""/diagram description [candidates] [top] [file]: checks, the per-user limits, the
deferral. With a file (a sketch or node list), the file is redrawn as it is."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot import messages
from bot.cogs.iterate import MAX_TEXT_CHARS
from bot.config import BotSettings
from bot.drawing import deferred, draw_and_post, redraw_and_post
from bot.engine_client import EngineClient
from bot.limits import UserLimits
from bot.reply import Reply
from common.limits import MAX_CANDIDATES, MAX_TOP

log = logging.getLogger(__name__)
MAX_FILE_BYTES = 32 * 1024  # an attached sketch or node list; 200 nodes fit


class DiagramCog(commands.Cog):
    def __init__(self, engine: EngineClient, limits: UserLimits, settings: BotSettings) -> None:
        self.engine = engine
        self.limits = limits
        self.settings = settings

    @app_commands.command(name="diagram", description="Draw a diagram of an ML model or process")
    @app_commands.describe(
        description="What to draw, e.g. an MLP with 3 inputs, hidden layers of 5 and 4, 2 outputs",
        candidates="How many candidates to draw (more: better picks, slower)",
        top="How many of the best to show",
        file="A sketch or node list (.txt) to redraw as it is, instead of a description",
    )
    async def diagram(
        self,
        interaction: discord.Interaction,
        description: str | None = None,
        candidates: app_commands.Range[int, 1, MAX_CANDIDATES] | None = None,
        top: app_commands.Range[int, 1, MAX_TOP] | None = None,
        file: discord.Attachment | None = None,
    ) -> None:
        s = self.settings
        candidates = candidates or s.candidates
        top = top or min(s.top, candidates)
        description = (description or "").strip()
        if not description and file is None:
            await _refuse(interaction, messages.EMPTY)
            return
        if len(description) > s.max_description_chars:
            await _refuse(interaction, messages.too_long(len(description), s.max_description_chars))
            return
        if file is not None:
            await self._redraw_file(interaction, file, description)
            return
        if top > candidates:
            await _refuse(interaction, messages.top_over_candidates(top, candidates))
            return
        user_id = interaction.user.id

        async def work(reply: Reply, ref: str) -> None:
            log.info(
                "diagram ref=%s user=%s chars=%d candidates=%d top=%d",
                ref,
                user_id,
                len(description),
                candidates,
                top,
            )
            await draw_and_post(self.engine, reply, user_id, description, candidates, top, ref)

        late = messages.late_header(user_id, description)
        await deferred(interaction, self.limits, "diagram", late, work)

    async def _redraw_file(
        self, interaction: discord.Interaction, file: discord.Attachment, description: str
    ) -> None:
        """An attached sketch or node list, redrawn as it is (POST /v1/render)."""
        if file.size > MAX_FILE_BYTES:
            await _refuse(interaction, messages.file_too_big(file.size, MAX_FILE_BYTES))
            return
        user_id = interaction.user.id

        async def work(reply: Reply, ref: str) -> None:
            try:
                data = await file.read()
            except discord.HTTPException as e:
                log.warning("diagram ref=%s: the attachment could not be read: %s", ref, e)
                await reply.say(messages.FILE_UNREADABLE)
                return
            try:
                text = data.decode("utf-8-sig").strip()
            except UnicodeDecodeError:
                await reply.say(messages.FILE_NOT_TEXT)
                return
            if not text:
                await reply.say(messages.FILE_EMPTY)
                return
            if len(text) > MAX_TEXT_CHARS:
                await reply.say(messages.text_too_long(len(text), MAX_TEXT_CHARS))
                return
            log.info("diagram ref=%s user=%s redraws a file of %d chars", ref, user_id, len(text))
            await redraw_and_post(self.engine, reply, user_id, text, description, ref)

        await deferred(interaction, self.limits, "diagram", messages.late_redraw(user_id), work)


async def _refuse(interaction: discord.Interaction, text: str) -> None:
    await interaction.response.send_message(text, ephemeral=True)
