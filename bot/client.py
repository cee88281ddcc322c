"""The Discord client: intents, the cogs, command sync, and the last-resort error handler.

No privileged intent is needed: the bot reads only its own messages (whose content and
attachments Discord always shows to their author) and reaction events. Every message it
sends has allowed_mentions none, so nothing it echoes can ping anyone.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot import messages
from bot.buttons import BUTTONS
from bot.cogs.admin import AdminCog
from bot.cogs.diagram import DiagramCog
from bot.cogs.iterate import IterateCog
from bot.cogs.ratings import RatingsCog
from bot.config import BotSettings
from bot.engine_client import EngineClient
from bot.limits import UserLimits

log = logging.getLogger(__name__)
SOMETHING_WENT_WRONG = messages.SOMETHING_WENT_WRONG


def intents() -> discord.Intents:
    chosen = discord.Intents.none()
    chosen.guilds = True  # channels and roles, for commands and the admin role check
    chosen.guild_reactions = True
    chosen.dm_reactions = True
    return chosen


class DiagramBot(commands.Bot):
    def __init__(self, settings: BotSettings, **kwargs: Any) -> None:
        # No voice here: silence discord.py's start-up warnings about missing voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,  # no text commands; only app commands
            intents=intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            **kwargs,
        )
        self.settings = settings
        self.engine = EngineClient(
            settings.engine_url,
            settings.engine_secret.get_secret_value(),
            draw_timeout_s=settings.engine_timeout_s,
            call_timeout_s=settings.call_timeout_s,
        )
        self.limits = UserLimits(settings.inflight_per_user, settings.requests_per_minute)

    async def setup_hook(self) -> None:
        s = self.settings
        await self.add_cog(DiagramCog(self.engine, self.limits, s))
        await self.add_cog(RatingsCog(self, self.engine))
        await self.add_cog(AdminCog(self.engine, s.admin_role, s.job_poll_s))
        await self.add_cog(IterateCog(self.engine, self.limits, s))
        # The buttons under every diagram ever posted: their custom ids carry the diagram id,
        # so they are matched by template (persistent, nothing kept per message).
        self.add_dynamic_items(*BUTTONS)
        self.tree.on_error = self.on_app_command_error
        if s.sync_commands:
            guild = discord.Object(s.guild_id) if s.guild_id else None
            if guild is not None:
                self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info(
                "synced %d commands %s",
                len(synced),
                f"to guild {s.guild_id}" if guild else "globally",
            )

    async def close(self) -> None:
        await super().close()
        await self.engine.close()

    async def on_ready(self) -> None:
        log.info("connected as %s (%s)", self.user, self.user.id if self.user else "?")

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, app_commands.CheckFailure):
            log.info("refused /%s to %s", _name(interaction), interaction.user.id)
            text = messages.ADMINS_ONLY
        else:
            cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
            log.error("/%s failed", _name(interaction), exc_info=cause)
            text = SOMETHING_WENT_WRONG
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException as e:  # e.g. the interaction has expired
            log.info("could not tell %s: %s", interaction.user.id, e)


def _name(interaction: discord.Interaction) -> str:
    return interaction.command.qualified_name if interaction.command else "?"
