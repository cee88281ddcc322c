"""/diagram description [candidates] [top]: checks, the per-user limits, the deferral."""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands
from discord.ext import commands

from bot import messages
from bot.config import BotSettings
from bot.drawing import draw_and_post
from bot.engine_client import EngineClient
from bot.limits import UserLimits
from bot.reply import Reply

log = logging.getLogger(__name__)


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
    )
    async def diagram(
        self,
        interaction: discord.Interaction,
        description: str,
        candidates: app_commands.Range[int, 1, 16] | None = None,
        top: app_commands.Range[int, 1, 4] | None = None,
    ) -> None:
        s = self.settings
        candidates = candidates or s.candidates
        top = top or min(s.top, candidates)
        description = description.strip()
        if not description:
            await _refuse(interaction, messages.EMPTY)
            return
        if len(description) > s.max_description_chars:
            await _refuse(interaction, messages.too_long(len(description), s.max_description_chars))
            return
        if top > candidates:
            await _refuse(interaction, messages.top_over_candidates(top, candidates))
            return
        user_id = interaction.user.id
        if refusal := self.limits.acquire(user_id):
            await _refuse(interaction, messages.refused(refusal))
            return
        try:
            try:  # first, before anything slow: Discord drops commands unanswered for 3 s
                await interaction.response.defer(thinking=True)
            except discord.NotFound:
                log.warning("diagram from %s: Discord's 3 s had passed before the bot", user_id)
                return
            ref = secrets.token_hex(4)
            log.info(
                "diagram ref=%s user=%s chars=%d candidates=%d top=%d",
                ref,
                user_id,
                len(description),
                candidates,
                top,
            )
            reply = Reply(interaction, messages.late_header(user_id, description))
            await draw_and_post(self.engine, reply, user_id, description, candidates, top, ref)
        finally:
            self.limits.release(user_id)


async def _refuse(interaction: discord.Interaction, text: str) -> None:
    await interaction.response.send_message(text, ephemeral=True)
