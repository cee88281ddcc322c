"""One /diagram request after its deferral: ask the engine, show progress, post the results.

Each shown diagram is its own message (image, one compact line, the diagram's text as a
file to edit and redraw with `diagrammer render`), so that each can be rated on its own;
the rating reactions are added once every image is up, so that people see the pictures
first. Engine failures end as one clear message in place of the progress, logged with the
request's reference.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable

import discord

from bot import messages
from bot.buttons import diagram_buttons
from bot.engine_client import Drawing, Drawn, EngineClient, EngineError
from bot.limits import UserLimits
from bot.posted import png_name, text_name
from bot.reactions import KEYCAPS
from bot.reply import Attachment, Progress, Reply

log = logging.getLogger(__name__)
Work = Callable[[Reply, str], Awaitable[None]]  # (the reply, the request's reference)


async def deferred(
    interaction: discord.Interaction,
    limits: UserLimits,
    what: str,
    late_header: str,
    work: Work,
) -> None:
    """The per-user limits, then the deferral (first, before anything slow: Discord drops an
    interaction unanswered for 3 s), then the work with a fresh reference."""
    user_id = interaction.user.id
    if refusal := limits.acquire(user_id):
        await interaction.response.send_message(messages.refused(refusal), ephemeral=True)
        return
    try:
        try:
            await interaction.response.defer(thinking=True)
        except discord.NotFound:
            log.warning("%s from %s: Discord's 3 s had passed before the bot", what, user_id)
            return
        await work(Reply(interaction, late_header), secrets.token_hex(4))
    finally:
        limits.release(user_id)


async def draw_and_post(
    engine: EngineClient,
    reply: Reply,
    user_id: int,
    description: str,
    candidates: int,
    top: int,
    ref: str,
) -> None:
    progress = Progress(reply.edit)
    try:
        drawing = await engine.draw(
            str(user_id),
            description,
            candidates,
            top,
            lambda event: progress.show(messages.progress(event, candidates)),
            ref,
        )
    except EngineError as e:
        log.warning("diagram ref=%s failed: status=%s %s", ref, e.status, e.message)
        await progress.stop()
        await reply.say(messages.engine_failed(e, ref))
        return
    finally:
        await progress.stop()  # its last edit lands before the answer replaces it
    log.info(
        "diagram ref=%s done: request_id=%s model=%s shown=%d",
        ref,
        drawing.request_id,
        drawing.model_version,
        len(drawing.results),
    )
    await post(reply, drawing, description, candidates)


async def post(reply: Reply, drawing: Drawing, description: str, candidates: int) -> None:
    shown = sorted(drawing.results, key=lambda d: d.rank)
    if not shown:
        await reply.say(messages.no_results(description))
        return
    await reply.say(messages.summary(description, len(shown), candidates))
    posted = [
        await reply.send(
            messages.result_line(d, len(shown)), _attachments(d), diagram_buttons(d.id)
        )
        for d in shown
    ]
    await _add_keycaps(reply, posted)


async def redraw_and_post(
    engine: EngineClient, reply: Reply, user_id: int, text: str, description: str, ref: str
) -> None:
    """A person's sketch or node list redrawn by the engine (POST /v1/render) and posted as
    a new diagram of theirs, with its problems listed, the keycaps and the buttons."""
    try:
        drawing = await engine.render(str(user_id), text, description)
    except EngineError as e:
        log.warning("redraw ref=%s failed: status=%s %s", ref, e.status, e.message)
        await reply.say(messages.engine_failed(e, ref))
        return
    if not drawing.results:
        await reply.say(messages.engine_failed(EngineError("no diagram in the answer", 502), ref))
        return
    d = drawing.results[0]
    log.info(
        "redraw ref=%s done: request_id=%s diagram=%s problems=%d",
        ref,
        drawing.request_id,
        d.id,
        len(drawing.problems),
    )
    await reply.say(messages.redrawn(d, drawing.problems))
    message = await reply.send(messages.redraw_line(d), _attachments(d), diagram_buttons(d.id))
    await _add_keycaps(reply, [message])


async def _add_keycaps(reply: Reply, posted: list[discord.Message]) -> None:
    try:
        for message in posted:
            for emoji in KEYCAPS:
                await message.add_reaction(emoji)
    except discord.Forbidden as e:  # people can still add the keycaps themselves
        log.warning("cannot add rating reactions in channel %s: %s", reply.channel.id, e)


def _attachments(d: Drawn) -> list[Attachment]:
    files = [(png_name(d.id), d.png)]
    if text := editable_text(d):
        files.append((text_name(d.id), text.encode("utf-8")))
    return files


def editable_text(d: Drawn) -> str | None:
    """The short sketch the model wrote when it is valid (it redraws to the same picture and
    is far easier to edit), else the exact node list."""
    if d.valid and d.sketch:
        return d.sketch
    return d.text


def text_to_edit(stored: dict, limit: int) -> str | int:
    """What the Edit form is prefilled with, from GET /v1/diagrams/{id}: the text people
    would download (a valid sketch, or what a person wrote for a redraw, else the node list);
    the other one when that is over `limit`; else the shorter one's length (too long)."""
    sketch, node_list = stored.get("sketch") or "", stored.get("text") or ""
    own = stored.get("model_version") == "render"  # a person's text: theirs to keep editing
    first, other = (sketch, node_list) if (stored.get("valid") or own) else (node_list, sketch)
    for text in (first, other):
        if text and len(text) <= limit:
            return text
    return min((len(t) for t in (first, other) if t), default=0)
