"""Rating reactions: the keycaps 1️⃣ to 5️⃣ are the scores 1 to 5 (5 = the most readable).

Keycaps read as numbers in every language and need no legend beyond "5 is best". Any other
emoji on a diagram message is not a rating and is ignored.

A person's rating of a diagram is the keycap they reacted with last. Discord keeps every
reaction, so someone who changes their mind may leave two keycaps on a message: removing one
falls back to a keycap they still have there (the highest, if several), and removing the
last one deletes the rating. The ratings cog applies this rule.
"""

from __future__ import annotations

import discord

KEYCAPS = ("1\ufe0f\u20e3", "2\ufe0f\u20e3", "3\ufe0f\u20e3", "4\ufe0f\u20e3", "5\ufe0f\u20e3")
VS16 = "\ufe0f"  # emoji presentation selector: some clients send keycaps without it
SCORES = {emoji.replace(VS16, ""): score for score, emoji in enumerate(KEYCAPS, 1)}


def score_of(emoji: discord.PartialEmoji | discord.Emoji | str) -> int | None:
    """The score an emoji stands for, None for any other emoji (custom emojis included)."""
    if not isinstance(emoji, str):
        if emoji.id is not None:  # a custom emoji, even one named like a keycap
            return None
        emoji = emoji.name or ""
    return SCORES.get(emoji.replace(VS16, ""))


def emoji_of(score: int) -> str:
    return KEYCAPS[score - 1]
