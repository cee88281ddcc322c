"""How a posted diagram message carries its diagram id: in the names of its attachments.

A diagram message is one the bot itself posted with an image named `diagram-<id>.png`. The
name survives restarts and needs no database, and people never have to look at the id. The
ratings cog reads it back from the message; a message without such an image (or by anyone
but the bot) is not a diagram.
"""

from __future__ import annotations

import re

import discord

PNG_NAME = re.compile(r"diagram-([0-9a-f]{1,64})\.png")


def png_name(diagram_id: str) -> str:
    return f"diagram-{diagram_id}.png"


def text_name(diagram_id: str) -> str:
    return f"diagram-{diagram_id}.txt"


def svg_name(diagram_id: str) -> str:
    return f"diagram-{diagram_id}.svg"


def diagram_id_of(message: discord.Message, bot_user_id: int) -> str | None:
    if message.author.id != bot_user_id:
        return None
    for attachment in message.attachments:
        if match := PNG_NAME.fullmatch(attachment.filename):
            return match.group(1)
    return None
