"""The buttons under each posted diagram (Edit, More like this, SVG) and the Edit form.

They survive restarts with nothing kept in memory: each button's custom id carries its
diagram id (`dg:edit:<id>`, `dg:more:<id>`, `dg:svg:<id>`), and the three templates are
registered at start-up (client.py), so a click on a diagram posted by an earlier run of the
bot still lands. The Edit form's custom id (`dg:redraw:<id>`) carries the id too, and its
submission is read from the interaction by cogs/iterate.py, not from a form kept in memory,
so a form opened before a restart still redraws. The work itself is in cogs/iterate.py.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import discord

from bot import messages

log = logging.getLogger(__name__)
ID = r"(?P<id>[0-9a-f]{1,64})"
REDRAW = re.compile(r"dg:redraw:" + ID)
TEXT_INPUT = "text"  # the custom id of the form's one text input
FORM_MAX_CHARS = 4000  # Discord's limit for a text input's value


class Iterate(Protocol):
    """What the buttons call (cogs/iterate.py)."""

    async def edit(self, interaction: discord.Interaction, diagram_id: str) -> None: ...
    async def more(self, interaction: discord.Interaction, diagram_id: str) -> None: ...
    async def svg(self, interaction: discord.Interaction, diagram_id: str) -> None: ...


def _cog(interaction: discord.Interaction) -> Iterate:
    cog = interaction.client.get_cog("IterateCog")  # type: ignore[attr-defined]
    assert cog is not None, "the IterateCog is added in setup_hook"
    return cog


async def _run(
    interaction: discord.Interaction, diagram_id: str, action: Callable[..., Awaitable[None]]
) -> None:
    """A click's work; an unexpected failure is logged and the clicker told, not left with
    Discord's "This interaction failed"."""
    try:
        await action(interaction, diagram_id)
    except Exception:
        log.exception(
            "%s on diagram %s by %s failed", action.__name__, diagram_id, interaction.user.id
        )
        send = (
            interaction.followup.send
            if interaction.response.is_done()
            else (interaction.response.send_message)
        )
        try:
            await send(messages.SOMETHING_WENT_WRONG, ephemeral=True)
        except discord.HTTPException as e:
            log.info("could not tell %s: %s", interaction.user.id, e)


def _button(label: str, custom_id: str, emoji: str) -> discord.ui.Button[Any]:
    return discord.ui.Button(
        label=label, emoji=emoji, style=discord.ButtonStyle.secondary, custom_id=custom_id
    )


class EditButton(discord.ui.DynamicItem[discord.ui.Button], template=r"dg:edit:" + ID):
    def __init__(self, diagram_id: str) -> None:
        super().__init__(_button(messages.EDIT_BUTTON, f"dg:edit:{diagram_id}", "✏️"))
        self.diagram_id = diagram_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> EditButton:
        return cls(match["id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await _run(interaction, self.diagram_id, _cog(interaction).edit)


class MoreButton(discord.ui.DynamicItem[discord.ui.Button], template=r"dg:more:" + ID):
    def __init__(self, diagram_id: str) -> None:
        super().__init__(_button(messages.MORE_BUTTON, f"dg:more:{diagram_id}", "🔁"))
        self.diagram_id = diagram_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> MoreButton:
        return cls(match["id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await _run(interaction, self.diagram_id, _cog(interaction).more)


class SvgButton(discord.ui.DynamicItem[discord.ui.Button], template=r"dg:svg:" + ID):
    def __init__(self, diagram_id: str) -> None:
        super().__init__(_button(messages.SVG_BUTTON, f"dg:svg:{diagram_id}", "📐"))
        self.diagram_id = diagram_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> SvgButton:
        return cls(match["id"])

    async def callback(self, interaction: discord.Interaction) -> None:
        await _run(interaction, self.diagram_id, _cog(interaction).svg)


BUTTONS = (EditButton, MoreButton, SvgButton)


def diagram_buttons(diagram_id: str) -> discord.ui.View:
    """The row under a posted diagram; persistent (no timeout, every custom id set)."""
    view = discord.ui.View(timeout=None)
    for button in BUTTONS:
        view.add_item(button(diagram_id))
    return view


def edit_form(diagram_id: str, text: str) -> discord.ui.Modal:
    """The Edit form, prefilled. Stopped before it is sent, so discord.py keeps no copy:
    the submission is handled from its custom id (cogs/iterate.py)."""
    form = discord.ui.Modal(title=messages.EDIT_TITLE, custom_id=f"dg:redraw:{diagram_id}")
    field = discord.ui.TextInput(
        custom_id=TEXT_INPUT,
        style=discord.TextStyle.paragraph,
        default=text,
        max_length=FORM_MAX_CHARS,
        required=True,
    )
    form.add_item(
        discord.ui.Label(text=messages.EDIT_LABEL, description=messages.EDIT_HINT, component=field)
    )
    form.stop()
    return form


def submitted_text(data: Any) -> str | None:
    """The text input's value in a modal submission's data, wherever it is nested (a
    label, type 18, or an action row, type 1)."""
    if isinstance(data, dict):
        if data.get("custom_id") == TEXT_INPUT and isinstance(data.get("value"), str):
            return data["value"]
        children = data.get("components") or []
        if "component" in data:
            children = [data["component"], *children]
        for child in children:
            if (found := submitted_text(child)) is not None:
                return found
    elif isinstance(data, list):
        for child in data:
            if (found := submitted_text(child)) is not None:
                return found
    return None
