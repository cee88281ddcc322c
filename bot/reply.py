"""Answering a deferred command: progress in the deferred message, then the results.

Discord accepts edits and follow-ups on an interaction for 15 minutes only. A Reply sends
through the interaction while it can and, once Discord says the token has expired, switches
to plain channel messages for the rest of the answer. Progress coalesces: a slow edit never
queues stale stages behind it, the next edit shows the newest one.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable

import discord

log = logging.getLogger(__name__)
# Invalid webhook token, unknown webhook, unknown interaction.
EXPIRED_CODES = frozenset({50027, 10015, 10062})

Attachment = tuple[str, bytes]  # (file name, content)


def expired(error: discord.HTTPException) -> bool:
    return error.code in EXPIRED_CODES or error.status == 401


class Reply:
    def __init__(self, interaction: discord.Interaction, late_header: str) -> None:
        self.interaction = interaction
        self.late_header = late_header  # says why the answer comes as channel messages
        self.late = False

    @property
    def channel(self) -> discord.PartialMessageable:
        i = self.interaction
        assert i.channel_id is not None, "app commands always come from a channel"
        return i.client.get_partial_messageable(i.channel_id, guild_id=i.guild_id)

    async def edit(self, content: str) -> bool:
        """Show `content` in the deferred message; False once that is no longer possible."""
        if self.late:
            return False
        try:
            await self.interaction.edit_original_response(content=content)
            return True
        except discord.HTTPException as e:
            if not expired(e):
                raise
            self.late = True
            return False

    async def say(self, content: str) -> None:
        """The final word in the deferred message, or in the channel when it is too late."""
        if not await self.edit(content):
            await self.channel.send(f"{self.late_header}\n{content}")

    async def send(
        self, content: str, files: list[Attachment], view: discord.ui.View | None = None
    ) -> discord.Message:
        """A new message with attachments and buttons (a follow-up, or a channel message
        when late)."""
        extra = {} if view is None else {"view": view}
        if not self.late:
            try:
                return await self.interaction.followup.send(
                    content, files=_files(files), wait=True, **extra
                )
            except discord.HTTPException as e:
                if not expired(e):
                    raise
                self.late = True
                await self.channel.send(self.late_header)
        return await self.channel.send(content, files=_files(files), **extra)


def _files(files: list[Attachment]) -> list[discord.File]:
    return [discord.File(io.BytesIO(data), filename=name) for name, data in files]


class Progress:
    """The newest stage, shown by one background editor; stop() lets its last edit land."""

    def __init__(self, edit: Callable[[str], Awaitable[object]]) -> None:
        self.edit = edit
        self.latest: str | None = None
        self.shown: str | None = None
        self.wake = asyncio.Event()
        self.stopping = False
        self.task = asyncio.create_task(self._run())

    def show(self, text: str | None) -> None:
        if text is not None and text != self.latest:
            self.latest = text
            self.wake.set()

    async def stop(self) -> None:
        """Let an edit in flight land, show nothing newer; calling it again is harmless."""
        self.stopping = True
        self.wake.set()
        await self.task

    async def _run(self) -> None:
        while not self.stopping:
            await self.wake.wait()
            self.wake.clear()
            if self.stopping or self.latest == self.shown or self.latest is None:
                continue
            self.shown = self.latest
            try:
                await self.edit(self.shown)
            except discord.HTTPException as e:  # progress is a courtesy: never fail for it
                log.info("progress edit failed: %s", e)
