"""One /diagram request after its deferral: ask the engine, show progress, post the results.

Each shown diagram is its own message (image, one compact line, the diagram's text as a
file to edit and redraw with `diagrammer render`), so that each can be rated on its own;
the rating reactions are added once every image is up, so that people see the pictures
first. Engine failures end as one clear message in place of the progress, logged with the
request's reference.
"""

from __future__ import annotations

import logging

import discord

from bot import messages
from bot.engine_client import Drawing, Drawn, EngineClient, EngineError
from bot.posted import png_name, text_name
from bot.reactions import KEYCAPS
from bot.reply import Attachment, Progress, Reply

log = logging.getLogger(__name__)


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
    posted = [await reply.send(messages.result_line(d, len(shown)), _attachments(d)) for d in shown]
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
