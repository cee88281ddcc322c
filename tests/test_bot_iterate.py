"""Edit, More like this and SVG under each diagram, and /diagram with an attached sketch:
real discord.py client, loopback fake Discord (clicks are type 3, forms type 5), fake engine."""

from __future__ import annotations

import asyncio
import logging

import pytest
from bot_harness import assert_no_pings, free_port, running, with_fake_engine
from fake_discord import APP, until
from fake_engine import canned

from bot.reactions import KEYCAPS

ALICE, BOB = 5000, 5001
OVERLAP = (
    "[0, 200, 300, 'round rectangle', 140, 50, 'solid arrow', (220, 235, 250), (40, 40, 40),"
    " [1], 'load']\n"
    "[1, 250, 300, 'round rectangle', 140, 50, 'solid arrow', (220, 235, 250), (40, 40, 40),"
    " [], 'train']\n"
)


def diagram_id(message: dict) -> str:
    return message["attachments"][0]["filename"][len("diagram-") : -len(".png")]


def buttons(message: dict) -> list[str]:
    return [c["custom_id"] for row in message["components"] for c in row["components"]]


@pytest.fixture
async def env(monkeypatch):
    async with with_fake_engine(monkeypatch) as (h, engine):
        await h.command("diagram", description="a net 2 4 1", top=2)
        posted = await h.diagrams_posted(2)
        yield h, engine, posted


async def form_of(h, data: dict) -> dict:
    callback = await h.answered(data)
    assert callback["json"]["type"] == 9, callback["json"]  # a form, answered at once
    return h.discord.modals[data["id"]]


def prefilled(form: dict) -> str:
    [label] = form["components"]
    assert label["type"] == 18 and label["component"]["custom_id"] == "text"
    return label["component"]["value"]


async def private_text(h, data: dict) -> str:
    callback = (await h.answered(data))["json"]
    assert callback["type"] == 4 and callback["data"]["flags"] == 64, callback
    return callback["data"]["content"]


async def test_each_diagram_carries_its_buttons_and_keeps_the_keycaps(env):
    h, _, posted = env
    for message in posted:
        d = diagram_id(message)
        assert buttons(message) == [f"dg:edit:{d}", f"dg:more:{d}", f"dg:svg:{d}"]
        labels = [c["label"] for row in message["components"] for c in row["components"]]
        assert labels == ["Edit", "More like this", "SVG"]
        assert list(h.discord.reactions[int(message["id"])]) == list(KEYCAPS)


async def test_edit_prefills_the_sketch_and_a_submit_redraws_it_for_the_submitter(env):
    h, engine, (first, _) = env
    d = diagram_id(first)
    form = await form_of(h, await h.click(first["id"], f"dg:edit:{d}", uid=BOB))
    assert form["custom_id"] == f"dg:redraw:{d}" and form["title"] == "Edit the diagram"
    assert prefilled(form) == canned()[0][0]  # the valid sketch, not the node list
    assert form["components"][0]["component"]["max_length"] == 4000

    data = await h.submit(f"dg:redraw:{d}", "layers: 2 5 1\n", uid=BOB)
    assert (await h.answered(data))["json"] == {"type": 5}  # deferred, "thinking..."
    posted = await h.diagrams_posted(3)
    redraw = posted[2]
    [asked] = engine.paths("/v1/render")
    assert asked["json"] == {
        "user_id": str(BOB),
        "text": "layers: 2 5 1",
        "description": "a net 2 4 1",
    }
    assert asked["ref"] is None or asked["ref"]
    summary = h.discord.edits(data["token"])[-1]
    assert summary.startswith("Redrawn from your text. Rate it with 1️⃣–5️⃣") and "⚠️" not in summary
    new_id = diagram_id(redraw)
    assert new_id != d and engine.stored[new_id]["model_version"] == "render"
    assert redraw["content"].startswith("**Your redraw** · readability 80%")
    names = [a["filename"] for a in redraw["attachments"]]
    assert names == [f"diagram-{new_id}.png", f"diagram-{new_id}.txt"]
    assert buttons(redraw) == [f"dg:edit:{new_id}", f"dg:more:{new_id}", f"dg:svg:{new_id}"]
    await h.discord.react(ALICE, int(redraw["id"]), KEYCAPS[4])  # a redraw is rated as any
    await until(lambda: engine.ratings == {(str(ALICE), new_id): 5})
    assert_no_pings(h.discord)


async def test_a_redraw_lists_the_problems_and_an_unreadable_text_is_refused(env):
    h, engine, (first, _) = env
    d = diagram_id(first)
    data = await h.submit(f"dg:redraw:{d}", OVERLAP)
    await h.diagrams_posted(3)
    summary = h.discord.edits(data["token"])[-1]
    assert "⚠️ 1 problem found in the drawing:\n• node 0: overlaps node 1" in summary
    assert "has problems" in h.discord.posted()[2]["content"]

    data = await h.submit(f"dg:redraw:{d}", "layers: lots of them")
    await until(lambda: h.discord.edits(data["token"]))
    [text] = h.discord.edits(data["token"])
    assert text.startswith("The diagram engine refused this request: the text cannot be drawn")
    assert len(h.discord.posted()) == 3

    blank = await h.submit(f"dg:redraw:{d}", "   \n ")
    assert (await private_text(h, blank)).startswith("There is nothing to draw")
    assert len(engine.paths("/v1/render")) == 2


async def test_edit_of_a_long_node_list_prefills_the_sketch_else_says_it_is_too_long(env):
    h, engine, (first, second) = env
    d1, d2 = diagram_id(first), diagram_id(second)
    engine.stored[d1] |= {"valid": False, "text": "[0]" * 2000}  # 6,000 characters
    form = await form_of(h, await h.click(first["id"], f"dg:edit:{d1}"))
    assert prefilled(form) == canned()[0][0]  # the engine has the sketch: that one
    engine.stored[d2] |= {"valid": False, "text": "[0]" * 2000, "sketch": "x" * 4500}
    text = await private_text(h, await h.click(second["id"], f"dg:edit:{d2}"))
    assert text.startswith("This diagram's text is 4,500 characters long, too long to edit in")
    assert "attach it to /diagram" in text


async def test_more_like_this_is_a_new_batch_ranked_for_the_clicker(env):
    h, engine, (first, _) = env
    data = await h.click(first["id"], f"dg:more:{diagram_id(first)}", uid=BOB)
    assert (await h.answered(data))["json"] == {"type": 5}
    await h.diagrams_posted(5)
    asked = engine.paths("/v1/diagrams")[-1]["json"]
    assert asked == {"user_id": str(BOB), "description": "a net 2 4 1", "candidates": 8, "top": 3}
    assert h.discord.edits(data["token"])[-1].startswith("Top 3 of 8 candidates for “a net 2 4 1”")


async def test_more_like_this_on_a_redraw_without_a_description_says_so(env):
    h, engine, (first, _) = env
    engine.stored[diagram_id(first)]["description"] = ""
    text = await private_text(h, await h.click(first["id"], f"dg:more:{diagram_id(first)}"))
    assert text.startswith("This diagram was drawn from a sketch, not from a description")
    assert len(engine.paths("/v1/diagrams")) == 1


async def test_svg_is_sent_to_the_clicker_only(env):
    h, _, (first, _) = env
    d = diagram_id(first)
    data = await h.click(first["id"], f"dg:svg:{d}", uid=BOB)
    callback = (await h.answered(data))["json"]
    assert callback == {"type": 5, "data": {"flags": 64}}  # private "thinking..."
    path = f"/webhooks/{APP}/{data['token']}"
    await until(lambda: h.discord.paths(path, "POST"))
    [sent] = h.discord.paths(path, "POST")
    assert sent["json"]["flags"] == 64 and sent["json"]["content"].startswith("The vector copy")
    [(_, name, svg)] = [p for p in sent["parts"] if p[0] != "payload_json"]
    assert name == f"diagram-{d}.svg" and b"<svg" in svg[:200]


async def test_buttons_and_forms_work_after_a_restart(env):
    h, engine, (first, _) = env
    d = diagram_id(first)
    form = await form_of(h, await h.click(first["id"], f"dg:edit:{d}"))  # opened, then...
    await h.restart()  # ...the bot restarts while the person edits
    await h.submit(form["custom_id"], "steps: load | train | ship")
    await h.diagrams_posted(3)
    assert engine.paths("/v1/render")[0]["json"]["text"] == "steps: load | train | ship"
    await form_of(h, await h.click(first["id"], f"dg:edit:{d}"))  # old buttons still answer
    data = await h.click(first["id"], f"dg:svg:{d}")
    assert (await h.answered(data))["json"]["type"] == 5
    await until(lambda: h.discord.paths(f"/webhooks/{APP}/{data['token']}", "POST"))


async def test_per_user_limits_hold_for_more_and_redraws(monkeypatch):
    async with with_fake_engine(monkeypatch) as (h, engine):
        await h.command("diagram", description="a net 2 4 1", top=1)
        [first] = await h.diagrams_posted(1)
        d = diagram_id(first)
        engine.hold = asyncio.Queue()
        busy = await h.click(first["id"], f"dg:more:{d}")
        assert (await h.answered(busy))["json"] == {"type": 5}
        again = await h.submit(f"dg:redraw:{d}", "layers: 2 1")
        assert (await private_text(h, again)).startswith("You already have a diagram in progress")
        for _ in range(5):
            engine.hold.put_nowait(None)
        await h.diagrams_posted(4)
        await until(lambda: not h.bot.limits.in_flight)
        engine.hold = None
        ok = await h.submit(f"dg:redraw:{d}", "layers: 2 1")
        assert (await h.answered(ok))["json"] == {"type": 5}
        await h.diagrams_posted(5)


async def test_engine_failures_on_a_click_are_one_clear_message(env):
    h, engine, (first, _) = env
    d = diagram_id(first)
    engine.refuse = (429, {"error": "the queue is full", "queue_position": 65, "retry_after": 7})
    data = await h.submit(f"dg:redraw:{d}", "layers: 2 3 1")
    await until(lambda: h.discord.edits(data["token"]))
    assert h.discord.edits(data["token"]) == [
        "🚦 The diagram engine is busy; please try again in 7 s."
    ]
    engine.diagrams.discard(d)  # the engine forgot it: 404
    text = await private_text(h, await h.click(first["id"], f"dg:edit:{d}"))
    assert text == "The diagram engine refused this request: no such diagram"


async def test_engine_down_on_a_click(monkeypatch):
    async with with_fake_engine(monkeypatch) as (h, engine):
        await h.command("diagram", description="a net 2 4 1", top=1)
        [first] = await h.diagrams_posted(1)
        await engine.close()  # the engine goes away
        data = await h.click(first["id"], f"dg:edit:{diagram_id(first)}")
        text = await private_text(h, data)
        assert text.startswith("🔌 The diagram engine is unreachable right now")
        assert h.discord.age(data["id"]) < 3  # answered within Discord's 3 s
        assert any("edit ref=" in w for w in h.logs.at_least(logging.WARNING))


async def test_diagram_with_an_attached_sketch_redraws_it(env):
    h, engine, _ = env
    upload = h.discord.upload("mine.txt", "\ufeffsteps: load | clean | train\n".encode())
    data = await h.command("diagram", file=upload, uid=BOB)
    assert (await h.answered(data))["json"] == {"type": 5}
    await h.diagrams_posted(3)
    asked = engine.paths("/v1/render")[0]["json"]
    assert asked == {"user_id": str(BOB), "text": "steps: load | clean | train", "description": ""}
    assert h.discord.edits(data["token"])[-1].startswith("Redrawn from your text.")
    with_words = await h.command("diagram", description="my pipeline", file=upload)
    await h.diagrams_posted(4)
    assert engine.paths("/v1/render")[1]["json"]["description"] == "my pipeline"
    assert (await h.answered(with_words))["json"] == {"type": 5}


async def test_an_attached_file_too_big_or_not_text_is_refused(env):
    h, engine, _ = env
    big = h.discord.upload("big.txt", b"x" * (32 * 1024 + 1))
    text = await private_text(h, await h.command("diagram", file=big))
    assert text.startswith("Your file is 32,769 bytes; the limit is 32,768.")
    png = h.discord.upload("d.png", canned()[0][2], "image/png")
    data = await h.command("diagram", file=png)
    await until(lambda: h.discord.edits(data["token"]))
    assert h.discord.edits(data["token"]) == [
        "Your file is not UTF-8 text: attach a sketch or a node list as a plain text file (.txt)."
    ]
    empty = h.discord.upload("e.txt", b"  \n")
    data = await h.command("diagram", file=empty)
    await until(lambda: h.discord.edits(data["token"]))
    assert h.discord.edits(data["token"])[0].startswith("Your file is empty")
    assert engine.paths("/v1/render") == []
    nothing = await h.command("diagram")
    assert (await private_text(h, nothing)).startswith("Please describe")


async def test_unrelated_forms_are_left_alone(monkeypatch):
    port = free_port()
    async with running(monkeypatch, f"http://127.0.0.1:{port}") as h:
        data = await h.submit("someone-else:form", "hi")
        await asyncio.sleep(0.2)
        assert not h.discord.paths(f"/interactions/{data['id']}/")
