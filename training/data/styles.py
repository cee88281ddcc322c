"""Styles for synthetic answers, and the style hints a request may carry.

People differ in taste (direction, shapes, colours, line styles, sizes), so the data spreads
over a curated space: fills readable under black or white text (WCAG contrast >= 4.5 with
the label colour the renderer picks) and line colours readable on the white canvas (>= 4.5).
A request sometimes states a wish ("in blue", "top to bottom", "dashed lines"); the answer
then honours it, so the model learns to listen, and otherwise it picks a taste of its own.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from engine.diagram.model import RGB
from engine.diagram.sketch import Sketch
from training.data.wording import article

# Colour families: name -> (light fills, dark fills). Dark fills carry white labels.
FILLS: dict[str, tuple[tuple[RGB, ...], tuple[RGB, ...]]] = {
    "blue": (((187, 222, 251), (144, 202, 249), (100, 181, 246)), ((21, 101, 192), (13, 71, 161))),
    "green": (((200, 230, 201), (165, 214, 167), (102, 187, 106)), ((46, 125, 50),)),
    "red": (((255, 205, 210), (239, 154, 154)), ((198, 40, 40),)),
    "orange": (((255, 224, 178), (255, 204, 128), (255, 167, 38)), ((230, 81, 0),)),
    "yellow": (((255, 249, 196), (255, 241, 118), (255, 213, 79)), ()),
    "purple": (((225, 190, 231), (206, 147, 216)), ((106, 27, 154), (74, 20, 140))),
    "pink": (((248, 187, 208), (244, 143, 177)), ((136, 14, 79),)),
    "teal": (((178, 223, 219), (128, 203, 196)), ((0, 121, 107),)),
    "grey": (((238, 238, 238), (224, 224, 224), (189, 189, 189)), ((97, 97, 97), (33, 33, 33))),
    "white": (((255, 255, 255),), ()),
}
# Line colours: name -> shades, all >= 4.5:1 against the white canvas.
LINES: dict[str, tuple[RGB, ...]] = {
    "black": ((0, 0, 0), (33, 33, 33)),
    "grey": ((66, 66, 66), (97, 97, 97)),
    "blue": ((13, 71, 161), (26, 35, 126)),
    "green": ((27, 94, 32), (0, 77, 64)),
    "red": ((183, 28, 28), (136, 14, 79)),
    "purple": ((74, 20, 140),),
    "brown": ((78, 52, 46),),
}
COLOUR_WORDS = {"grey": ("grey", "gray"), "teal": ("teal", "turquoise")}
DIRECTION_HINTS = {
    "right": ("left to right", "horizontal", "horizontally", "from left to right",
              "laid out horizontally", "going left to right", "left-to-right", "sideways"),
    "down": ("top to bottom", "vertical", "vertically", "top-down", "from top to bottom",
             "going down", "top-to-bottom", "drawn vertically", "stacked vertically"),
}  # fmt: skip
SHAPE_HINTS = {
    "circle": ("with circles", "round nodes", "circular nodes", "as circles", "use circles",
               "circle nodes", "drawn as circles"),
    "round rectangle": ("with rounded boxes", "rounded rectangles", "round corners",
                        "rounded corners", "with rounded rectangles", "soft rounded boxes"),
    "rectangle": ("with square boxes", "plain rectangles", "sharp corners", "as rectangles",
                  "boxy shapes", "rectangular boxes", "square corners"),
}  # fmt: skip
LINE_HINTS = {
    "dashed line": ("dashed lines", "with dashed connections", "dashed edges", "dotted lines",
                    "use dashes for the lines", "dashed links"),
    "solid line": ("no arrowheads", "plain lines", "lines without arrows", "undirected edges",
                   "just lines, no arrows", "no arrows"),
    "solid arrow": ("with arrows", "arrows between them", "directed edges", "solid arrows",
                    "use arrows", "arrows please"),
}  # fmt: skip
SIZE_HINTS = {
    "big": ("big nodes", "large shapes", "make the nodes big", "larger nodes", "big shapes"),
    "small": ("small nodes", "compact", "tiny nodes", "small shapes", "keep it compact"),
}
LABEL_HINTS = {
    "yes": (
        "label the layers",
        "with labels",
        "show layer labels",
        "labelled",
        "labeled",
        "with layer names",
        "add labels",
    ),
    "no": ("no labels", "without labels", "unlabeled", "unlabelled", "no text in the nodes"),
}


@dataclass(frozen=True)
class Style:
    """Every taste decision of one answer, and the hints (phrases) its request states."""

    direction: str
    shape: str
    size: tuple[int, int]
    fill: RGB
    line_style: str
    line_color: RGB
    labels: str = "any"  # networks: what the request said about labels: yes | no | any
    hints: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        return {
            "direction": self.direction,
            "shape": self.shape,
            "size": list(self.size),
            "fill": list(self.fill),
            "line_style": self.line_style,
            "line_color": list(self.line_color),
            "labels": self.labels,
            "hints": list(self.hints),
        }


def styled(sketch: Sketch, style: Style) -> Sketch:
    """The sketch drawn in this style: direction, shape and size, fill, line."""
    return replace(
        sketch,
        direction=style.direction,
        shape=style.shape,
        size=style.size,
        fill=style.fill,
        line_style=style.line_style,
        line_color=style.line_color,
    )


def colour_word(rng: random.Random, family: str) -> str:
    return rng.choice(COLOUR_WORDS.get(family, (family,)))


def choose_style(rng: random.Random, kind: str) -> Style:
    """A style for a `kind` ("network" or "flow") answer, with 0-3 hints in its request."""
    asked = _asked(rng, kind)
    hints: list[str] = []
    direction = asked.get("direction") or _direction(rng, kind)
    if "direction" in asked:
        hints.append(rng.choice(DIRECTION_HINTS[direction]))
    shape = asked.get("shape") or _shape(rng, kind)
    if "shape" in asked:
        hints.append(rng.choice(SHAPE_HINTS[shape]))
    size = _size(rng, kind, shape, asked.get("size", ""))
    if "size" in asked:
        hints.append(rng.choice(SIZE_HINTS[asked["size"]]))
    fill, fill_hint = _fill(rng, "fill" in asked)
    hints += [fill_hint] if fill_hint else []
    line_style = asked.get("line") or _line_style(rng, kind)
    if "line" in asked:
        hints.append(rng.choice(LINE_HINTS[line_style]))
    line_color, line_hint = _line_color(rng, fill, line_style, "line colour" in asked)
    hints += [line_hint] if line_hint else []
    labels = asked.get("labels", "any")
    if labels != "any":
        hints.append(rng.choice(LABEL_HINTS[labels]))
    rng.shuffle(hints)
    return Style(direction, shape, size, fill, line_style, line_color, labels, tuple(hints))


def _asked(rng: random.Random, kind: str) -> dict[str, str]:
    """Which wishes the request states (about 45% of requests state one or more)."""
    n = rng.choices((0, 1, 2, 3), weights=(55, 28, 13, 4))[0]
    topics = ["direction", "shape", "size", "fill", "line", "line colour"]
    topics += ["labels"] if kind == "network" else []
    asked: dict[str, str] = {}
    for topic in rng.sample(topics, n):
        if topic == "direction":
            asked[topic] = rng.choice(("right", "down"))
        elif topic == "shape":
            asked[topic] = rng.choice(tuple(SHAPE_HINTS))
        elif topic == "size":
            asked[topic] = rng.choice(tuple(SIZE_HINTS))
        elif topic == "line":
            asked[topic] = rng.choice(tuple(LINE_HINTS))
        elif topic == "labels":
            asked[topic] = rng.choice(("yes", "yes", "no"))
        else:
            asked[topic] = "yes"
    return asked


def _direction(rng: random.Random, kind: str) -> str:
    return rng.choices(("right", "down"), weights=(3, 1) if kind == "network" else (1, 1))[0]


def _shape(rng: random.Random, kind: str) -> str:
    weights = (8, 1, 1) if kind == "network" else (2, 5, 3)
    return rng.choices(("circle", "round rectangle", "rectangle"), weights=weights)[0]


def _size(rng: random.Random, kind: str, shape: str, wish: str) -> tuple[int, int]:
    """Preferred size; flows widen later until their labels fit (see synth.py)."""
    low, high = {"small": (0.0, 0.4), "big": (0.6, 1.0)}.get(wish, (0.0, 1.0))
    t = low + (high - low) * rng.random()
    if kind == "network":
        side = round(28 + t * 36)  # 28..64
        if shape == "round rectangle":
            return side + 12, side
        return side, side
    if shape == "circle":  # an ellipse around a step name
        return round(130 + t * 60), round(56 + t * 24)
    return round(110 + t * 90), round(40 + t * 30)


def _fill(rng: random.Random, asked: bool) -> tuple[RGB, str]:
    family = rng.choice(tuple(FILLS))
    light, dark = FILLS[family]
    shade = "dark" if dark and rng.random() < 0.2 else "light"
    fill = rng.choice(dark if shade == "dark" else light)
    if not asked:
        return fill, ""
    name = colour_word(rng, family)
    if family == "white":
        return fill, rng.choice(("white boxes", "white nodes", "black and white", "no fill colour"))
    if shade == "dark" or rng.random() < 0.3:
        name = (
            f"{shade if rng.random() < 0.7 else ('pastel' if shade == 'light' else 'deep')} {name}"
        )
    pattern = rng.choice(
        ("in {c}", "{c} nodes", "{c} boxes", "make it {c}", "{c} fill", "colour them {c}",
         "color them {c}", "using {c}", "with {a} {c} colour scheme", "in {c} please",
         "{c} color", "fill {c}")
    )  # fmt: skip
    return fill, pattern.format(c=name, a=article(name))


def _line_style(rng: random.Random, kind: str) -> str:
    weights = (5, 4, 1) if kind == "network" else (7, 1, 2)
    return rng.choices(("solid arrow", "solid line", "dashed line"), weights=weights)[0]


def _line_color(rng: random.Random, fill: RGB, style: str, asked: bool) -> tuple[RGB, str]:
    dark_fill = sum(fill) < 400
    families = ("black", "grey") if dark_fill and not asked else tuple(LINES)
    family = rng.choice(families) if asked or rng.random() < 0.4 else "black"
    colour = rng.choice(LINES[family])
    if not asked:
        return colour, ""
    name = colour_word(rng, family)
    what = rng.choice(("lines", "arrows" if style == "solid arrow" else "lines", "edges", "links"))
    return colour, rng.choice((f"{name} {what}", f"with {name} {what}", f"{what} in {name}"))
