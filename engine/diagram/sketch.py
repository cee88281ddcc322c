"""The sketch: the short text the language model writes (docs/sketch.md).

A sketch states the structure (layer sizes, or steps and edges) and every taste decision
(direction, shape, size, colours, line style, labels); `engine/diagram/layout.py` expands it
into a node list. Parsing is tolerant of what models really emit (case, spaces, code fences,
keys out of order, separators) and never evaluates anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.diagram.model import LINE_STYLES, MAX_INPUT_BYTES, RGB, SHAPES, Problem

DIRECTIONS = ("right", "down")
KEYS = ("layers", "steps", "blocks", "edges", "groups", "direction", "shape", "fill", "line")
KEYS += ("labels",)
DEFAULT_SIZE = {"circle": (40, 40), "rectangle": (150, 50), "round rectangle": (150, 50)}
DEFAULT_FILL: RGB = (220, 235, 250)
DEFAULT_LINE: RGB = (40, 40, 40)
MAX_SIZE = 1000  # a bigger preferred size is meaningless on a 1000 x 600 canvas

_KEY_LINE = re.compile(r"^\s*[-*]?\s*([A-Za-z_ ]+?)\s*[:=]\s*(.*?)\s*$")
_SKETCH_LINE = re.compile(
    r"^\s*[-*]?\s*(layers|steps|blocks)\s*[:=]", re.IGNORECASE | re.MULTILINE
)
_INT = re.compile(r"-?\d+")
HUGE = 10**12  # any number longer than 12 digits reads as this (int() refuses 4,300+ digits)


def _int(token: str) -> int:
    """A number token as an int, capped, so a model that writes 5,000 digits gets a clear
    "too large" from the layout instead of Python's digit-limit ValueError."""
    digits = token.lstrip("-")
    value = int(digits) if len(digits) <= 12 else HUGE
    return -value if token.startswith("-") else value


_SIZE = re.compile(r"(\d+)\s*(?:[x×*,]|\s)\s*(\d+)", re.IGNORECASE)
_HEX = re.compile(r"#([0-9a-f]{6})\b", re.IGNORECASE)
_SHAPE_WORDS = (
    ("round rectangle", ("round", "rounded", "pill")),
    ("circle", ("circle", "circles", "ellipse", "oval", "node", "nodes")),
    ("rectangle", ("rectangle", "rect", "box", "square", "boxes", "rectangles")),
)
_LINE_WORDS = (
    ("dashed line", ("dash", "dashed", "dotted")),
    ("solid arrow", ("arrow", "arrows")),
    ("solid line", ("line", "lines", "solid", "plain")),
)
_DIRECTION_WORDS = {
    "right": ("right", "lr", "horizontal", "left to right", "left-to-right", "across"),
    "down": ("down", "td", "tb", "vertical", "top to bottom", "top-to-bottom", "downward"),
}


@dataclass(frozen=True)
class Sketch:
    """A network (`layers`), a flow (`steps`) or a layer stack (`blocks`), with its style.

    steps holds a flow's step names or a stack's block names (stack=True).
    edges are 0-based (source, target) step indices; () means the chain in order.
    edge_labels: one per edge ("" for none), or () when no edge has a label.
    data: indices of the steps that are data (drawn as data boxes), the rest are processes.
    groups: (first, last, label) frames around runs of steps, 0-based and inclusive.
    labels (networks only) has one entry per layer, or is () for no labels.
    """

    layers: tuple[int, ...] = ()
    steps: tuple[str, ...] = ()
    edges: tuple[tuple[int, int], ...] = ()
    edge_labels: tuple[str, ...] = ()
    stack: bool = False
    data: tuple[int, ...] = ()
    groups: tuple[tuple[int, int, str], ...] = ()
    direction: str = "right"
    shape: str = "circle"
    size: tuple[int, int] = (40, 40)
    fill: RGB = DEFAULT_FILL
    line_style: str = "solid arrow"
    line_color: RGB = DEFAULT_LINE
    labels: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return "network" if self.layers else "stack" if self.stack else "flow"

    @property
    def is_v1(self) -> bool:
        """A network, or a flow of plain steps and forward edges: the first layout draws it."""
        forward = all(a < b for a, b in self.edges)
        plain = not (self.stack or self.data or self.groups or any(self.edge_labels))
        return bool(self.layers) or (plain and forward)

    @property
    def n_nodes(self) -> int:
        return sum(self.layers) if self.layers else len(self.steps)

    def flow_edges(self) -> tuple[tuple[int, int], ...]:
        """The flow's edges, the chain in order when none are given."""
        if self.edges:
            return self.edges
        return tuple((i, i + 1) for i in range(len(self.steps) - 1))


def chain(n: int) -> tuple[tuple[int, int], ...]:
    return tuple((i, i + 1) for i in range(n - 1))


def sketch_to_text(s: Sketch) -> str:
    """The canonical text of a sketch: keys in the documented order, defaults written out."""
    lines = [f"layers: {' '.join(map(str, s.layers))}"] if s.layers else []
    if not s.layers:
        names = [f"[{n}]" if i in s.data else n for i, n in enumerate(s.steps)]
        lines.append(f"{'blocks' if s.stack else 'steps'}: {' | '.join(names)}")
        if s.edges and (s.edges != chain(len(s.steps)) or any(s.edge_labels)):
            labels = s.edge_labels or ("",) * len(s.edges)
            lines.append(
                "edges: "
                + " ".join(
                    f"{a + 1}>{b + 1}" + (f"[{t}]" if t else "")
                    for (a, b), t in zip(s.edges, labels, strict=True)
                )
            )
        if s.groups:
            lines.append(
                "groups: " + " | ".join(f"{a + 1}-{b + 1} {t}".strip() for a, b, t in s.groups)
            )
    lines += [
        f"direction: {s.direction}",
        f"shape: {s.shape} {s.size[0]}x{s.size[1]}",
        f"fill: {' '.join(map(str, s.fill))}",
        f"line: {s.line_style} {' '.join(map(str, s.line_color))}",
    ]
    if s.layers and any(s.labels):
        lines.append(f"labels: {' | '.join(s.labels)}")
    return "\n".join(lines)


STYLE_KEYS = ("direction", "shape", "fill", "line")


def structure_text(s: Sketch) -> str:
    """The sketch's structure lines alone (no style): what a request can state."""
    return "\n".join(
        line for line in sketch_to_text(s).splitlines() if line.split(":")[0] not in STYLE_KEYS
    )


def style_text(s: Sketch) -> str:
    """The sketch's style lines alone: what the model decides."""
    return "\n".join(
        line for line in sketch_to_text(s).splitlines() if line.split(":")[0] in STYLE_KEYS
    )


def looks_like_sketch(text: str) -> bool:
    """True when the text has a `layers:`, `steps:` or `blocks:` key line."""
    return bool(_SKETCH_LINE.search(text))


def parse_sketch(text: str) -> tuple[Sketch | None, list[Problem]]:
    """Read a sketch; (None, problems) when there is no usable structure in the text."""
    if len(text.encode("utf-8", "replace")) > MAX_INPUT_BYTES:
        return None, [Problem("too long", f"the sketch is over {MAX_INPUT_BYTES} bytes")]
    problems: list[Problem] = []
    values: dict[str, tuple[int, str]] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("```"):
            continue  # blank lines and code fences
        match = _KEY_LINE.match(line)
        key = match.group(1).strip().lower() if match else ""
        if key not in KEYS:
            why = f"unknown key {key!r}" if match else "this line is not a `key: value` line"
            problems.append(Problem("not a sketch line", why, number))
            continue
        if key in values:
            problems.append(
                Problem("duplicate key", f"{key!r} is given twice; the first wins", number)
            )
            continue
        values[key] = (number, match.group(2))
    return _build(values, problems)


def _build(
    values: dict[str, tuple[int, str]], problems: list[Problem]
) -> tuple[Sketch | None, list[Problem]]:
    layers: tuple[int, ...] = ()
    steps: tuple[str, ...] = ()
    data: tuple[int, ...] = ()
    structure = [k for k in ("layers", "steps", "blocks") if k in values]
    if len(structure) > 1:
        why = "a sketch is a network, a flow or a stack; the first of them is used"
        problems.append(Problem("both layers and steps", why))
    stack = bool(structure) and structure[0] == "blocks"
    if structure and structure[0] == "layers":
        layers = _layers(*values["layers"], problems)
    elif structure:
        steps, data = _steps(*values[structure[0]], problems, repeats=stack)
    else:
        why = "a sketch needs a `layers:`, `steps:` or `blocks:` line"
        problems.append(Problem("no structure", why))
    if not layers and not steps:
        return None, problems
    kind_default = "circle" if layers else "round rectangle"
    shape, size = _shape(*values.get("shape", (None, "")), kind_default, problems)
    line_style, line_color = _line(*values.get("line", (None, "")), problems)
    edges: tuple[tuple[int, int], ...] = ()
    edge_labels: tuple[str, ...] = ()
    if steps and "edges" in values:
        edges, edge_labels = _edges(*values["edges"], len(steps), problems)
    groups: tuple[tuple[int, int, str], ...] = ()
    if steps and "groups" in values:
        groups = _groups(*values["groups"], len(steps), problems)
    for key, what in (("edges", steps), ("groups", steps), ("labels", layers)):
        if key in values and not what:
            problems.append(Problem("misplaced key", f"{key!r} is ignored here", values[key][0]))
    labels = _labels(*values["labels"], len(layers), problems) if "labels" in values else ()
    sketch = Sketch(
        layers=layers,
        steps=steps,
        edges=edges,
        edge_labels=edge_labels,
        stack=stack,
        data=data,
        groups=groups,
        direction=_direction(*values.get("direction", (None, "")), problems),
        shape=shape,
        size=size,
        fill=_color(*values.get("fill", (None, "")), DEFAULT_FILL, problems),
        line_style=line_style,
        line_color=line_color,
        labels=labels if layers else (),
    )
    return sketch, problems


def _layers(line: int, value: str, problems: list[Problem]) -> tuple[int, ...]:
    sizes: list[int] = []
    for t in re.findall(r"\d+", value):
        # "10 000" or "10,000": a 3-digit group with a leading zero can't be a layer of its
        # own, so it continues the number before it (a thousands separator).
        if sizes and len(t) == 3 and t[0] == "0":
            sizes[-1] = _int(str(sizes[-1]) + t)
        else:
            sizes.append(_int(t))
    if not sizes or any(n < 1 for n in sizes):
        problems.append(Problem("bad layers", "layers must be positive whole numbers", line))
        return ()
    return tuple(sizes)


_DATA = re.compile(r"^\[(.*)\]$")
_REPEAT = re.compile(r"\s[x×](\d{1,2})$", re.IGNORECASE)  # "conv 3x3 64 x2", not "224 x 3"
MAX_REPEAT = 50


def _steps(
    line: int, value: str, problems: list[Problem], repeats: bool = False
) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """Step (or block) names and the indices of data steps (`[name]`). In a stack, a block
    ending in a lone `x2` is written twice (`conv 3x3 64 x2`; the copy is named `... #2`)."""
    sep = "|" if "|" in value else "->" if "->" in value else ";" if ";" in value else "|"
    names = [" ".join(part.split()) for part in value.split(sep)]
    if not any(names):
        problems.append(Problem("no steps", "the steps line names no step", line))
    elif not all(names):
        problems.append(Problem("empty step", "a step name is empty; it is left out", line))
    steps: list[str] = []
    data: list[int] = []
    for name in filter(None, names):
        bracketed = _DATA.match(name)
        if bracketed and bracketed.group(1).strip():
            data.append(len(steps))
            name = " ".join(bracketed.group(1).split())
        times = _REPEAT.search(name) if repeats else None
        if times is None:
            steps.append(name)
            continue
        base, count = name[: times.start()], min(MAX_REPEAT, max(1, int(times.group(1))))
        steps += [base] + [f"{base} #{k}" for k in range(2, count + 1)]
    return tuple(steps), tuple(data)


_EDGE_RUN = re.compile(r"\d+(?:\s*-*>\s*\d+(?:\s*\[[^\]]*\])?)+")
_EDGE_STEP = re.compile(r"-*>\s*(\d+)(?:\s*\[([^\]]*)\])?")


def _edges(
    line: int, value: str, n: int, problems: list[Problem]
) -> tuple[tuple[tuple[int, int], ...], tuple[str, ...]]:
    """Edges (0-based) and their labels (`3>4[yes]`; () when none has one)."""
    edges: list[tuple[int, int]] = []
    labels: list[str] = []
    for run in _EDGE_RUN.finditer(value):
        a = _int(_INT.match(run.group(0)).group(0))
        for step in _EDGE_STEP.finditer(run.group(0)):
            b, text = _int(step.group(1)), " ".join((step.group(2) or "").split())
            if not (1 <= a <= n and 1 <= b <= n) or a == b:
                why = f"edge {a}>{b} needs two different steps between 1 and {n}"
                problems.append(Problem("bad edge", why, line))
            elif (a - 1, b - 1) not in edges:
                edges.append((a - 1, b - 1))
                labels.append(text)
            a = b
    if not edges:
        problems.append(Problem("bad edges", "no usable `a>b` edge; the chain is used", line))
    if not any(labels):
        result = tuple(edges)
        return (() if result == chain(n) else result), ()
    return tuple(edges), tuple(labels)


_GROUP = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*(.*)$")


def _groups(
    line: int, value: str, n: int, problems: list[Problem]
) -> tuple[tuple[int, int, str], ...]:
    """`2-5 encoder x6 | 7-9 decoder`: frames around runs of steps, 0-based."""
    groups = []
    for part in value.split("|"):
        m = _GROUP.match(part)
        if not m or not 1 <= int(m.group(1)) <= int(m.group(2)) <= n:
            why = f"a group is `first-last name` with 1 <= first <= last <= {n}"
            problems.append(Problem("bad group", why, line))
            continue
        groups.append((int(m.group(1)) - 1, int(m.group(2)) - 1, " ".join(m.group(3).split())))
    return tuple(groups)


def _word_match(value: str, table: tuple[tuple[str, tuple[str, ...]], ...]) -> str | None:
    words = set(re.findall(r"[a-z]+", value.lower()))
    for name, synonyms in table:
        if name in value.lower() or words & set(synonyms):
            return name
    return None


def _shape(
    line: int | None, value: str, default: str, problems: list[Problem]
) -> tuple[str, tuple[int, int]]:
    shape = _word_match(value, _SHAPE_WORDS) if value else None
    if line is not None and shape is None:
        problems.append(Problem("unknown shape", f"expected one of {', '.join(SHAPES)}", line))
    shape = shape or default
    size = DEFAULT_SIZE[shape]
    match = _SIZE.search(value)
    if match:
        w, h = _int(match.group(1)), _int(match.group(2))
        if 1 <= w <= MAX_SIZE and 1 <= h <= MAX_SIZE:
            size = (w, h)
        else:
            why = f"size must be between 1 and {MAX_SIZE}"
            problems.append(Problem("bad size", why, line))
    return shape, size


def _line(line: int | None, value: str, problems: list[Problem]) -> tuple[str, RGB]:
    if line is None:
        return "solid arrow", DEFAULT_LINE
    style = _word_match(value, _LINE_WORDS)
    if style is None:
        why = f"expected one of {', '.join(LINE_STYLES)}"
        problems.append(Problem("unknown line style", why, line))
    return style or "solid arrow", _color(line, value, DEFAULT_LINE, problems)


def _color(line: int | None, value: str, default: RGB, problems: list[Problem]) -> RGB:
    if line is None:
        return default
    hexa = _HEX.search(value)
    if hexa:
        h = hexa.group(1)
        return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))
    numbers = [_int(t) for t in _INT.findall(value)]
    if len(numbers) < 3:
        problems.append(Problem("bad colour", "a colour is three numbers R G B", line))
        return default
    if len(numbers) > 3 or any(not 0 <= c <= 255 for c in numbers):
        problems.append(Problem("bad colour", "a colour is three numbers 0-255", line))
    r, g, b = (min(255, max(0, c)) for c in numbers[:3])
    return (r, g, b)


def _direction(line: int | None, value: str, problems: list[Problem]) -> str:
    text = " ".join(value.lower().split())
    for name, words in _DIRECTION_WORDS.items():
        if text in words or text.split(" ")[0] in words:
            return name
    if line is not None:
        problems.append(Problem("unknown direction", "direction is right or down", line))
    return "right"


def _labels(line: int, value: str, n: int, problems: list[Problem]) -> tuple[str, ...]:
    labels = [" ".join(part.split()) for part in value.split("|")]
    if len(labels) != n:
        why = f"{len(labels)} labels for {n} layers; extra ones are dropped, missing ones empty"
        problems.append(Problem("label count", why, line))
        labels = (labels + [""] * n)[:n]
    return tuple(labels) if any(labels) else ()
