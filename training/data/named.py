"""Requests that name a catalogue entry ("draw ResNet-18 for 3 classes", "a U-Net").

The pipeline finds the entry (engine/catalogue), adapts it to what the request adds (class
count, input size, U-Net levels), puts its block or step names into the `hint:` line and
grafts its structure onto every candidate. The answer taught here is that structure (the
entry's own sketch, adapted), in the entry's direction, with a style of the model's own:
the model learns to copy a long hint and to stop. Entries whose sketch would be too long an
answer are left out (the pipeline draws them all the same: grafting needs only a style).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.catalogue import catalogue
from engine.diagram.sketch import Sketch, parse_sketch
from training.data.wording import Words

MAX_STEPS = 14  # longer entries cost more tokens than the answer budget allows


@dataclass(frozen=True)
class Named:
    sketch: Sketch  # the entry's structure (style to be added) and its direction
    description: str
    template: str
    entry: str


FRAMES = (
    "{o} {a}", "{o} the {a} architecture", "{a}", "{a} diagram", "{o} a diagram of {a}",
    "how does {a} work? draw it", "{o} {a} please", "{a} architecture", "{o} the {a} process",
    "can you show {a}", "{o} a figure of {a} for my slides",
)  # fmt: skip
ADDITIONS = ("", "", "", " for {n} classes", " with {n} output classes", " with a {s}x{s} input",
             " for {s}x{s} rgb images", " with {n} classes")  # fmt: skip


def _entries() -> list:
    out = []
    for e in catalogue.entries():
        sketch, _ = parse_sketch(e.sketch_text)
        if sketch is not None and len(sketch.steps) <= MAX_STEPS:
            out.append(e)
    return out


def named(w: Words) -> Named | None:
    entries = _entries()
    entry = w.rng.choice(entries)
    alias = w.pick(entry.aliases) if entry.aliases and w.chance(0.6) else entry.name
    extra = w.pick(ADDITIONS) if entry.kind == "stack" else ""
    extra = extra.format(n=w.pick(("2", "3", "5", "10", "100")), s=w.pick(("32", "64", "128")))
    text = w.pick(FRAMES).format(o=w.opener(), a=alias + extra).strip()
    if catalogue.find(text) is not entry:
        return None
    sketch, _ = parse_sketch(catalogue.adapt(entry, text))
    if sketch is None or len(sketch.steps) > MAX_STEPS:
        return None
    return Named(sketch, text, f"named_{entry.kind}", entry.name)
