"""Iterating on a posted diagram, where people are: the Edit, More like this and SVG buttons
(bot/buttons.py) and the Edit form's submission.

- Edit opens a form prefilled with the diagram's sketch or node list (read from the engine
  at once: a form cannot wait for a deferral); submitting it redraws the text through
  POST /v1/render as a new diagram of the person who submitted it.
- More like this draws a new batch for the diagram's description, ranked for the person who
  clicked, exactly as /diagram does.
- SVG sends the vector copy, visible to the clicker only.

Redraws and batches count against the same per-user limits as /diagram.
"""

from __future__ import annotations

import io
import logging
import secrets

import discord
from discord.ext import commands

from bot import messages
from bot.buttons import FORM_MAX_CHARS, REDRAW, edit_form, submitted_text
from bot.config import BotSettings
from bot.drawing import deferred, draw_and_post, redraw_and_post, text_to_edit
from bot.engine_client import EngineClient, EngineError
from bot.limits import UserLimits
from bot.posted import svg_name

log = logging.getLogger(__name__)
MAX_TEXT_CHARS = 32_000  # the engine's limit for POST /v1/render


class IterateCog(commands.Cog):
    def __init__(self, engine: EngineClient, limits: UserLimits, settings: BotSettings) -> None:
        self.engine = engine
        self.limits = limits
        self.settings = settings

    # Buttons

    async def edit(self, interaction: discord.Interaction, diagram_id: str) -> None:
        stored = await self._stored(interaction, diagram_id, "edit")
        if stored is None:
            return
        text = text_to_edit(stored, FORM_MAX_CHARS)
        if isinstance(text, int):
            log.info(
                "edit of diagram %s by %s: %d characters", diagram_id, interaction.user.id, text
            )
            await _private(interaction, messages.edit_too_long(text, FORM_MAX_CHARS))
            return
        await interaction.response.send_modal(edit_form(diagram_id, text))

    async def more(self, interaction: discord.Interaction, diagram_id: str) -> None:
        stored = await self._stored(interaction, diagram_id, "more")
        if stored is None:
            return
        description = str(stored.get("description") or "").strip()
        if not description:
            await _private(interaction, messages.NO_DESCRIPTION)
            return
        user_id = interaction.user.id
        s = self.settings
        candidates, top = s.candidates, min(s.top, s.candidates)

        async def work(reply, ref: str) -> None:
            log.info("more ref=%s user=%s like diagram %s", ref, user_id, diagram_id)
            await draw_and_post(self.engine, reply, user_id, description, candidates, top, ref)

        late = messages.late_header(user_id, description)
        await deferred(interaction, self.limits, "more", late, work)

    async def svg(self, interaction: discord.Interaction, diagram_id: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            svg = await self.engine.svg(diagram_id)
        except EngineError as e:
            ref = secrets.token_hex(4)
            log.warning(
                "svg ref=%s of %s failed: status=%s %s", ref, diagram_id, e.status, e.message
            )
            await interaction.followup.send(messages.engine_failed(e, ref), ephemeral=True)
            return
        file = discord.File(io.BytesIO(svg), filename=svg_name(diagram_id))
        await interaction.followup.send(messages.SVG_READY, file=file, ephemeral=True)

    # The Edit form's submission

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        match = REDRAW.fullmatch(str((interaction.data or {}).get("custom_id", "")))
        if match is None:
            return
        try:
            await self.submitted(interaction, match["id"], submitted_text(interaction.data))
        except Exception:
            log.exception("redraw of diagram %s by %s failed", match["id"], interaction.user.id)
            if not interaction.response.is_done():
                await _private(interaction, messages.SOMETHING_WENT_WRONG)

    async def submitted(
        self, interaction: discord.Interaction, diagram_id: str, text: str | None
    ) -> None:
        text = (text or "").strip()
        if not text:
            await _private(interaction, messages.EDITED_EMPTY)
            return
        user_id = interaction.user.id

        async def work(reply, ref: str) -> None:
            description = await self._description(diagram_id)
            log.info(
                "redraw ref=%s user=%s of diagram %s chars=%d", ref, user_id, diagram_id, len(text)
            )
            await redraw_and_post(self.engine, reply, user_id, text, description, ref)

        await deferred(interaction, self.limits, "redraw", messages.late_redraw(user_id), work)

    async def _stored(
        self, interaction: discord.Interaction, diagram_id: str, what: str
    ) -> dict | None:
        """The diagram, read before Discord's 3 s are up; None once the person was told why not."""
        try:
            return await self.engine.diagram(diagram_id, quick=True)
        except EngineError as e:
            ref = secrets.token_hex(4)
            log.warning(
                "%s ref=%s of diagram %s failed: status=%s %s",
                what,
                ref,
                diagram_id,
                e.status,
                e.message,
            )
            await _private(interaction, messages.engine_failed(e, ref))
            return None

    async def _description(self, diagram_id: str) -> str:
        """What the edited diagram depicts, kept with the redraw ("" when it cannot be read:
        the redraw does not need it)."""
        try:
            stored = await self.engine.diagram(diagram_id)
        except EngineError as e:
            log.info("redraw of %s: its description is unknown (%s)", diagram_id, e.message)
            return ""
        return str(stored.get("description") or "")[: self.settings.max_description_chars]


async def _private(interaction: discord.Interaction, text: str) -> None:
    await interaction.response.send_message(text, ephemeral=True)
