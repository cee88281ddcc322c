"""Expand a sketch into a node list: layered, evenly spaced, centred, always on the canvas.

Layers (networks) or ranks (flows) run along the *main* axis (x for direction right, y for
down); the nodes of one layer or rank are stacked along the *cross* axis. All nodes share one
size: the preferred size, shrunk when needed so that neighbours keep a comfortable gap
(metrics.COMFORT_SPACING: half the short side, at least half of SPACING_FLOOR_PX) inside the
canvas margin, or as much of it as 200 nodes leave (never less than 1 px). So a well-formed
sketch of at most MAX_NODES drawn nodes never overlaps and never leaves the canvas.

Flows rank steps by the longest path over their forward edges (an edge to an earlier step is a
back edge: drawn, but not used for ranking). An edge that spans several ranks gets a free slot
in every rank it passes, and the order inside each rank is chosen to avoid crossings
(barycentre sweeps, then adjacent swaps). A flow's nodes keep the sketch's shape and aspect
ratio but grow to use the canvas (`_growth`): up to MAX_UP times the preferred size, or as far
as the longest label needs to read at READ_SCALE, whichever is larger, as long as the grid
fits. A plain chain snakes (every other line backwards) only where one line cannot show its
labels at READ_SCALE: over the fewest lines that can, else those that draw them largest
(`_chain_slots`).

A network layer wider than WIDE is drawn collapsed: its first SHOWN units, a marker node
labelled "... N" (N: the layer's declared size) and its last unit, all fully connected like
units, so the drawing stays a complete layered graph and fidelity reads N back from the
marker (`marker_units`). Nothing costs time or memory in proportion to N. The marker is a
round rectangle sized for its label, as large as the gaps and the fans around it allow.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from engine.diagram import geometry
from engine.diagram.label_fit import MAX_SCALE, RECT_PAD, fit_label, text_block, text_width
from engine.diagram.layout_graph import layout_graph
from engine.diagram.metrics import COMFORT_SPACING, SPACING_FLOOR_PX
from engine.diagram.model import CANVAS_H, CANVAS_W, MAX_NODES, RGB, Diagram, DiagramError, Node
from engine.diagram.ranks import order_ranks
from engine.diagram.sketch import Sketch, chain

MARGIN = 30
MAX_LINE = {"right": 6, "down": 8}  # a long chain's lines hold at least this many steps
MAX_UP = 1.7  # a flow's nodes grow at most this much for the canvas alone ...
READ_SCALE = 0.7  # ... and further only while a label is not yet readable at this font scale
# (14.7 px capitals; 6 px on screen at Discord's 400 px preview of the whole canvas)
MOST_LINES = 6  # a plain chain is tried on 1..MOST_LINES lines (and the MAX_LINE rule's count)
CLEARANCE = 2.0  # px between an edge and a node it passes (the metric forgives 1 px)
BEND = 6  # px: a bend point of an edge that skips ranks (format.md)
# A column of 10 default 40 px circles shrinks to 36 px on the 540 px the canvas leaves, still
# room for a two-character label ("h1"); 12 shrink to 30 px, where it no longer fits.
WIDE = 10  # the widest layer drawn in full
SHOWN = 3  # units drawn before a collapsed layer's marker (the last unit comes after it)
MAX_UNITS = 1_000_000  # the widest layer a network may declare (vocabularies reach ~256k)
MARKER_SHAPE = "round rectangle"  # reads as a note among the units, not as one more unit
MARKER_FILL: RGB = (255, 255, 255)
MARKER_SCALES = (0.65, 0.6, 0.55)  # label scales tried for a marker, largest first
_MARKER = re.compile(r"\s*(?:\.{2,}|…|⋮)\s*(\d{1,3}(?:,\d{3}){1,2}|\d{1,9})\s*")


@dataclass(frozen=True)
class _Gaps:
    """Preferred gap between neighbours along each axis, as a function of the node size."""

    main: Callable[[float], float]
    cross: Callable[[float], float]


# Networks: room for the fan of full connections between layers.
NETWORK_GAPS = _Gaps(main=lambda s: max(180.0, 3.0 * s), cross=lambda s: max(24.0, 0.6 * s))
# Flows: room for an arrow and its head between ranks, less beside each other.
FLOW_GAPS = _Gaps(main=lambda s: max(50.0, 0.4 * s), cross=lambda s: max(40.0, 0.3 * s))


@dataclass(frozen=True)
class _Slot:
    """Where one node sits: line `main` along the main axis, place `cross` of `n_cross` across."""

    main: int
    cross: int
    n_cross: int


def drawn(units: int) -> int:
    """Nodes drawn for a layer of `units`: all of them, or SHOWN, the marker and the last."""
    return units if units <= WIDE else SHOWN + 2


def marker_label(units: int) -> str:
    """ "... 784", "... 4096", "... 50,000": thousands separated from five digits on."""
    return f"... {units:,}" if units >= 10_000 else f"... {units}"


def marker_units(label: str) -> int | None:
    """The size a marker states ("... 784" -> 784, "... 50,000"; also "…", "⋮"), else None."""
    found = _MARKER.fullmatch(label)
    return int(found.group(1).replace(",", "")) if found else None


def check_layers(layers: Sequence[int]) -> None:
    """DiagramError when a network is more than a diagram draws, even with wide layers collapsed."""
    widest = max(layers, default=0)
    if widest > MAX_UNITS:
        raise DiagramError(f"a layer of {widest:,} units is over the limit of {MAX_UNITS:,}")
    n = sum(map(drawn, layers))
    if n > MAX_NODES:
        collapsed = " even with its wide layers collapsed" if widest > WIDE else ""
        raise DiagramError(
            f"this diagram would have {n} nodes{collapsed}; the limit is {MAX_NODES}"
        )


def layout(sketch: Sketch) -> Diagram:
    """The node list of a sketch (see the module docstring for the rules); what sketch v2
    adds (stacks, data, edge labels, loops, groups) is laid out by engine/diagram/layout_graph.py.
    """
    if not sketch.is_v1:
        return layout_graph(sketch)
    if sketch.kind == "network":
        check_layers(sketch.layers)
        slots, targets, labels, markers = _network(sketch)
        counts = tuple(map(drawn, sketch.layers))
        return _place(sketch, slots, targets, labels, NETWORK_GAPS, counts, markers)
    n = len(sketch.steps)
    if n > MAX_NODES:
        raise DiagramError(f"this diagram would have {n} nodes; the limit is {MAX_NODES}")
    if n == 0:
        raise DiagramError("the sketch has no layers and no steps")
    slots, targets, labels, grow, skips = _flow(sketch)
    first = _place(sketch, slots, targets, labels, FLOW_GAPS, (), set(), grow, skips=skips)
    if _through(first) == 0:
        return first
    # An edge runs through a node: ranks spread over the canvas (gentler slopes), with the
    # nodes grown less if need be, down to the preferred size; the first that is clean.
    tried = [first]
    for factor in dict.fromkeys((grow, (1 + grow) / 2, 1.0)):
        tried.append(
            _place(
                sketch, slots, targets, labels, FLOW_GAPS, (), set(), factor, True, skips
            )
        )
        if _through(tried[-1]) == 0:
            return tried[-1]
    return min(tried, key=_through)


def _through(diagram: Diagram) -> int:
    """(Edge, node) pairs where a centre-to-centre edge runs through a third node."""
    edges = [(s, t) for s, t in diagram.edges() if s.id != t.id]
    if not edges:
        return 0
    index = {n.id: k for k, n in enumerate(diagram.nodes)}
    p = np.array([(s.x, s.y) for s, _ in edges], float)
    q = np.array([(t.x, t.y) for _, t in edges], float)
    ellipse = np.array([n.shape == "circle" for n in diagram.nodes])
    hits = geometry.segments_through(p, q, geometry.boxes(diagram.nodes), ellipse)
    rows = np.arange(len(edges))
    hits[rows, [index[s.id] for s, _ in edges]] = False
    hits[rows, [index[t.id] for _, t in edges]] = False
    return int(hits.sum())


def _network(
    sketch: Sketch,
) -> tuple[list[_Slot], list[tuple[int, ...]], list[str], set[int]]:
    """Slots, targets and labels of the drawn nodes, and the indices of the markers."""
    slots: list[_Slot] = []
    targets: list[tuple[int, ...]] = []
    labels: list[str] = []
    markers: set[int] = set()
    counts = [drawn(units) for units in sketch.layers]
    first = 0
    for i, units in enumerate(sketch.layers):
        size = counts[i]
        after = first + size
        following = counts[i + 1] if i + 1 < len(counts) else 0
        for j in range(size):
            slots.append(_Slot(i, j, size))
            targets.append(tuple(range(after, after + following)))
            if size < units and j == SHOWN:
                markers.add(len(labels))
                labels.append(marker_label(units))
            else:
                labels.append(sketch.labels[i] if sketch.labels else "")
        first = after
    return slots, targets, labels, markers


Passing = list[tuple[int, int, list[_Slot]]]  # an edge a -> b and the free slots it passes


def _flow(
    sketch: Sketch,
) -> tuple[list[_Slot], list[tuple[int, ...]], list[str], float, Passing]:
    """Slots, targets and labels of a flow's steps, how much its nodes grow, and the free
    slots of the edges that skip ranks."""
    n = len(sketch.steps)
    edges = sketch.flow_edges()
    targets = [tuple(b for a, b in edges if a == i) for i in range(n)]
    labels = list(sketch.steps)
    if edges == chain(n) and n > 1:
        slots, grow = _chain_slots(sketch, labels)
        return slots, targets, labels, grow, []
    rank = [0] * n
    forward = [e for e in edges if e[0] < e[1]]
    for a, b in sorted(forward):
        rank[b] = max(rank[b], rank[a] + 1)
    order = order_ranks(n, rank, forward)
    slots = [_Slot(0, 0, 1)] * n
    passing: dict[int, list[_Slot]] = {}
    for r, items in enumerate(order):
        for j, item in enumerate(items):
            if isinstance(item, int):
                slots[item] = _Slot(r, j, len(items))
            else:
                passing.setdefault(item[0], []).append(_Slot(r, j, len(items)))
    skips = [(*forward[k], sorted(at, key=lambda s: s.main)) for k, at in passing.items()]
    return slots, targets, labels, _growth(sketch, _counts(slots), labels)[0], skips


def _chain_slots(sketch: Sketch, labels: Sequence[str]) -> tuple[list[_Slot], float]:
    """A plain chain's slots on the fewest lines whose labels read at READ_SCALE, else on the
    lines that draw them largest (where none fits, that give the largest nodes); and how
    much its nodes grow there. One line keeps the direction plainest: it snakes only when
    that makes its labels readable."""
    n = len(labels)
    tries = {*range(1, min(n, MOST_LINES) + 1), math.ceil(n / MAX_LINE[sketch.direction])}
    best: tuple[tuple[float, float], list[_Slot], float] | None = None
    for lines in sorted(tries):
        slots = _snake(n, math.ceil(n / lines))
        grow, text = _growth(sketch, _counts(slots), labels)
        if text >= READ_SCALE - 1e-9:
            return slots, grow
        key = (text, 0.0 if text else grow)
        if best is None or key > best[0]:
            best = (key, slots, grow)
    assert best is not None
    return best[1], best[2]


def _counts(slots: Sequence[_Slot]) -> tuple[int, int]:
    """(lines along the main axis, most places across) of a grid of slots."""
    return max(s.main for s in slots) + 1, max(s.n_cross for s in slots)


def _lengths(right: bool) -> tuple[int, int]:
    """(main, cross) length of the canvas inside its margin."""
    lengths = (CANVAS_W - 2 * MARGIN, CANVAS_H - 2 * MARGIN)
    return lengths if right else (lengths[1], lengths[0])


def _growth(sketch: Sketch, counts: tuple[int, int], labels: Sequence[str]) -> tuple[float, float]:
    """(factor, font scale): how much a flow's nodes grow on a grid of `counts` (main, cross)
    places, and the font scale every label then fits at (0.0 when one does not). They grow
    as far as the grid fits the canvas, at most MAX_UP times or as far as the labels need
    to read at READ_SCALE, whichever is more. A factor under 1 means the preferred size does
    not fit: `_sizes` shrinks it as it always did."""
    right = sketch.direction == "right"
    pref = sketch.size if right else sketch.size[::-1]
    most = _fitting(counts, _lengths(right), pref)
    texts = sorted({t for t in labels if t.strip()}, key=lambda t: -text_width(t, 1.0))
    grow = min(most, MAX_UP)
    if most > MAX_UP and not _reads(texts, sketch, most, READ_SCALE):
        grow = most
    elif most > MAX_UP and not _reads(texts, sketch, grow, READ_SCALE):
        low, high = grow, most  # the smallest factor at which they read, to 0.01
        while high - low > 0.01:
            middle = (low + high) / 2
            low, high = (
                (low, middle) if _reads(texts, sketch, middle, READ_SCALE) else (middle, high)
            )
        grow = high
    return grow, _font(texts, sketch, grow)


def _grown(sketch: Sketch, factor: float) -> tuple[int, int]:
    """The sketch's (width, height) times `factor`, in whole pixels."""
    return (
        max(1, math.floor(sketch.size[0] * factor)),
        max(1, math.floor(sketch.size[1] * factor)),
    )


def _font(texts: Sequence[str], sketch: Sketch, factor: float) -> float:
    """The font scale every label fits at in nodes grown by `factor` (the renderer draws
    them all at the smallest), or 0.0 when one does not fit."""
    w, h = _grown(sketch, factor)
    scale = MAX_SCALE
    for text in texts:
        fit = fit_label(text, w, h, sketch.shape)
        if not fit.fits:
            return 0.0
        scale = min(scale, fit.scale)
    return scale


def _reads(texts: Sequence[str], sketch: Sketch, factor: float, scale: float) -> bool:
    """Does every label fit at `scale` or larger in nodes grown by `factor`? (The widest
    labels come first: the first that does not answers.)"""
    w, h = _grown(sketch, factor)
    for text in texts:
        fit = fit_label(text, w, h, sketch.shape)
        if not fit.fits or fit.scale < scale - 1e-9:
            return False
    return True


def _fitting(counts: tuple[int, int], lengths: tuple[int, int], pref: tuple[int, int]) -> float:
    """The largest factor (to 0.01) by which `pref` (main, cross) may grow with `counts`
    nodes along each axis inside `lengths`, each gap the flow's preferred one or the
    required one, whichever is more (what `_pitch` will space them by)."""

    def fits(f: float) -> bool:
        size = (pref[0] * f, pref[1] * f)
        least = _required_gap(*size)
        for axis, gap in enumerate((FLOW_GAPS.main, FLOW_GAPS.cross)):
            s, count = size[axis], counts[axis]
            if count * s + (count - 1) * max(least, gap(s)) > lengths[axis]:
                return False
        return True

    low, high = 0.0, max(lengths) / max(1, min(pref))
    while high - low > 0.005:
        middle = (low + high) / 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return math.floor(low * 100) / 100


def _snake(n: int, longest: int) -> list[_Slot]:
    """A long chain on lines of equal length; every other line runs backwards."""
    lines = math.ceil(n / longest)
    per_line = math.ceil(n / lines)
    slots = []
    for i in range(n):
        line, pos = divmod(i, per_line)
        slots.append(_Slot(per_line - 1 - pos if line % 2 else pos, line, lines))
    return slots


def _required_gap(size_a: int, size_b: int) -> float:
    """The smallest gap the readability metric finds comfortable, plus a pixel for rounding."""
    return COMFORT_SPACING * max(min(size_a, size_b), SPACING_FLOOR_PX) + 1


def _largest(count: int, length: int, preferred: int, other: int) -> int:
    """The largest size <= preferred for `count` nodes in `length`, with the required gaps.

    The required gap depends on the short side: this node size or `other`, the size along
    the other axis. Where even 1 px nodes cannot keep it, 1 px it is (gaps then shrink).
    """
    if count <= 1:
        return max(1, min(preferred, length))
    gaps = count - 1
    longer = math.floor((length - gaps * _required_gap(other, other)) / count)
    if longer > other:  # this side is the long one: the gap follows `other`
        return min(preferred, longer)
    big = math.floor((length - gaps) / (count + COMFORT_SPACING * gaps))  # gap scales with size
    if big < SPACING_FLOOR_PX:  # small nodes: the gap is fixed by the floor
        big = math.floor((length - gaps * _required_gap(0, 0)) / count)
    return max(1, min(preferred, other, big))


def _sizes(
    pref: tuple[int, int], counts: tuple[int, int], lengths: tuple[int, int], round_: bool
) -> tuple[int, int]:
    """(main, cross) node size: the preferred one, shrunk until the required gaps fit.

    Each axis takes the largest size that fits given the other axis's size; a smaller size on
    one axis only relaxes the other, so alternating between them settles on a fixed point.
    """
    size = pref
    while True:
        main = _largest(counts[0], lengths[0], pref[0], size[1])
        new = (main, _largest(counts[1], lengths[1], pref[1], main))
        if new == size:
            break
        size = new
    if round_:  # a circle keeps its aspect ratio; smaller only relaxes the gaps
        factor = min(size[0] / pref[0], size[1] / pref[1])
        size = (max(1, math.floor(pref[0] * factor)), max(1, math.floor(pref[1] * factor)))
    return size


def _pitch(count: int, length: int, size: int, least: float, preferred: float) -> float:
    """Centre-to-centre distance: the preferred one, at least `least`, within `length`."""
    if count <= 1:
        return 0.0
    room = (length - size) / (count - 1)
    return min(room, max(size + least, size + preferred))


def _centres(count: int, pitch: float, middle: float) -> list[int]:
    return [round(middle + (i - (count - 1) / 2) * pitch) for i in range(count)]


def _spread(a: int, b: int, pitch_a: float, pitch_b: float) -> float:
    """Cross distance between the far ends of neighbouring layers of a and b nodes."""
    if pitch_a == pitch_b:  # the expression of equal pitches, bit for bit
        return (a - 1 + b - 1) / 2 * pitch_a
    return (a - 1) / 2 * pitch_a + (b - 1) / 2 * pitch_b


def _clear_fans(
    layers: Sequence[int],
    size: tuple[int, int],
    main: float,
    pitches: Sequence[float],
    round_: bool,
) -> tuple[int, int]:
    """Shrink nodes until no full connection between two layers grazes a neighbour node.

    The closest call is the edge from one end of a layer to the far end of the next: it
    leaves its source next to the source's neighbour (or reaches its target next to the
    target's), at distance main * cross / length from that neighbour's centre, cross being
    the smaller cross pitch of the two layers. The node's extent across the edge must stay
    below that.
    """
    half_m, half_c = size[0] / 2, size[1] / 2
    worst = 1.0
    for i, (a, b) in enumerate(zip(layers, layers[1:], strict=False)):
        if max(a, b) < 2:
            continue
        spread = _spread(a, b, pitches[i], pitches[i + 1])
        cross = min(p for n, p in ((a, pitches[i]), (b, pitches[i + 1])) if n >= 2)
        length = math.hypot(main, spread)
        room = main * cross / length - CLEARANCE
        nm, nc = spread / length, main / length  # the edge's normal, in (main, cross)
        extent = math.hypot(half_m * nm, half_c * nc) if round_ else half_m * nm + half_c * nc
        worst = min(worst, room / extent)
    if worst >= 1:
        return size
    return max(1, math.floor(size[0] * worst)), max(1, math.floor(size[1] * worst))


def _cross_pitches(
    layers: Sequence[int],
    markers: dict[int, str],
    size: tuple[int, int],
    pitch: float,
    room: float,
    right: bool,
) -> list[float]:
    """Cross pitch per layer: `pitch`, but collapsed layers (markers: layer index: the marker's
    label) spread their nodes, all alike, to span at least as far as the tallest full layer
    (784 inputs must not look fewer than 10 outputs) and to leave each marker room for one
    line of text beside its neighbours; all within `room` (the cross length less a node)."""
    tallest = max((n - 1 for i, n in enumerate(layers) if i not in markers), default=0)
    boxes = [_label_boxes(label)[0] for label in markers.values()]
    text = max((box[1] if right else box[0] for box in boxes), default=0)
    text = text / 2 + size[1] / 2 + _required_gap(*size)
    wide = max(pitch, min(room / (SHOWN + 1), max(tallest * pitch / (SHOWN + 1), text)))
    return [wide if i in markers else pitch for i in range(len(layers))]


def _place(
    sketch: Sketch,
    slots: Sequence[_Slot],
    targets: Sequence[tuple[int, ...]],
    labels: Sequence[str],
    gaps: _Gaps,
    layers: Sequence[int],
    markers: set[int],
    grow: float = 1.0,
    spread: bool = False,
    skips: Passing = (),
) -> Diagram:
    """The node list of slots on the canvas; `grow` > 1 scales up the preferred size,
    `spread` spaces the lines along the main axis as far apart as the canvas allows, and
    each edge in `skips` runs through bend points at the free slots it passes."""
    right = sketch.direction == "right"
    lengths = _lengths(right)
    size = _grown(sketch, grow) if grow > 1 else sketch.size
    pref = size if right else size[::-1]
    counts = (max(s.main for s in slots) + 1, max(s.n_cross for s in slots))
    round_ = sketch.shape == "circle"
    size = _sizes(pref, counts, lengths, round_)
    least = _required_gap(*size)
    main_pitch = _pitch(
        counts[0], lengths[0], size[0], least, lengths[0] if spread else gaps.main(size[0])
    )
    cross_pitch = _pitch(counts[1], lengths[1], size[1], least, gaps.cross(size[1]))
    collapsed = {slots[i].main: labels[i] for i in markers}
    pitches = _cross_pitches(layers, collapsed, size, cross_pitch, lengths[1] - size[1], right)
    if layers and _clear_fans(layers, size, main_pitch, pitches, round_) != size:
        main_pitch = _pitch(counts[0], lengths[0], size[0], least, lengths[0])  # spread out
        size = _clear_fans(layers, size, main_pitch, pitches, round_)
    boxes: dict[int, tuple[int, int] | None] = {}
    if markers:
        where = {i: (slots[i].main, labels[i]) for i in markers}
        room = _Markers(where, size, layers, lengths[0], right, round_)
        widest = _pitch(counts[0], lengths[0], size[0], least, lengths[0])
        tallest = (lengths[1] - size[1]) / (SHOWN + 1)
        main_pitch, pitches, boxes = room.fit((main_pitch, widest), (pitches, tallest))
    main_at = _centres(counts[0], main_pitch, MARGIN + lengths[0] / 2)
    width, height = size if right else size[::-1]
    across: dict[tuple[int, float], list[int]] = {}

    def where(slot: _Slot) -> tuple[int, int]:
        """(main, cross) centre of a slot."""
        pitch = pitches[slot.main] if layers else cross_pitch
        if (slot.n_cross, pitch) not in across:
            across[slot.n_cross, pitch] = _centres(slot.n_cross, pitch, MARGIN + lengths[1] / 2)
        return main_at[slot.main], across[slot.n_cross, pitch][slot.cross]

    nodes = []
    for i, slot in enumerate(slots):
        main, cross = where(slot)
        x, y = (main, cross) if right else (cross, main)
        node = Node(
            id=i,
            x=x,
            y=y,
            shape=sketch.shape,
            width=width,
            height=height,
            line_style=sketch.line_style,
            fill=sketch.fill,
            line_color=sketch.line_color,
            targets=targets[i],
            label=labels[i],
        )
        box = boxes.get(i)
        if box is not None:
            w, h = box if right else box[::-1]
            node = node.moved(shape=MARKER_SHAPE, width=w, height=h, fill=MARKER_FILL)
        nodes.append(node)
    if skips and len(nodes) + 2 * sum(len(at) for _, _, at in skips) <= MAX_NODES:
        passing = [(a, b, [where(slot) for slot in at]) for a, b, at in skips]
        nodes = _bent(nodes, passing, size[0], sketch, right)
    return Diagram(tuple(nodes))


def _bent(
    nodes: list[Node],
    skips: Sequence[tuple[int, int, list[tuple[int, int]]]],
    band: int,
    sketch: Sketch,
    right: bool,
) -> list[Node]:
    """The nodes with each edge a -> b of `skips` rerouted through bend points at the
    (main, cross) centres of the free slots it passes; where a segment through a centre
    would clip a node, one bend at each end of the slot's line instead (`band` px along
    the main axis), so that the edge runs straight along the whole line and no slanted
    part of it passes a node beside the slot (unless the line is too short to keep two
    bends a comfortable gap apart)."""
    targets = {n.id: list(n.targets) for n in nodes}
    half = band / 2 - BEND / 2
    sides = (-1, 1) if band - 2 * BEND >= SPACING_FLOOR_PX / 2 + 2 else (0,)
    style = "dashed line" if sketch.line_style == "dashed line" else "solid line"
    boxes = geometry.boxes(nodes)
    boxes = boxes if right else boxes[:, [1, 0, 3, 2]]  # (main, cross) axes
    ellipse = np.array([n.shape == "circle" for n in nodes])
    bends: list[Node] = []
    last: set[int] = set()  # the bends whose segment ends at the target: its arrowhead
    for a, b, centres in skips:
        ends = [(n.x, n.y) if right else (n.y, n.x) for n in (nodes[a], nodes[b])]
        others = np.ones(len(nodes), bool)
        others[[a, b]] = False
        points: list[tuple[int, int]] = []
        for i, (m, c) in enumerate(centres):
            at, after = points[-1] if points else ends[0], [*centres, ends[1]][i + 1]
            bent = [(round(m + side * half), c) for side in sides]
            route = [(at, (m, c)), ((m, c), after)]
            if len(bent) > 1 and not geometry.any_through(route, boxes[others], ellipse[others]):
                bent = [(m, c)]
            points += bent
        path = [ends[0], *points, ends[1]]
        keep = [  # a bend where the path turns
            p for i, p in enumerate(path[1:-1], 1) if not path[i - 1][1] == p[1] == path[i + 1][1]
        ]
        ids = [len(nodes) + len(bends) + k for k in range(len(keep))]
        for k, (main, c) in zip(ids, keep, strict=True):
            x, y = (main, c) if right else (c, main)
            bends.append(Node(
                id=k, x=x, y=y, shape="circle", width=BEND, height=BEND, line_style=style,
                fill=sketch.line_color, line_color=sketch.line_color, targets=(), label="",
            ))  # fmt: skip
        if ids:
            targets[a] = [ids[0] if t == b else t for t in targets[a]]
            for u, v in zip(ids, [*ids[1:], b], strict=True):
                targets[u] = [v]
            last.add(ids[-1])
    out = [n.moved(targets=tuple(targets[n.id])) for n in nodes]
    for bend in bends:
        line = sketch.line_style if bend.id in last else style
        out.append(bend.moved(targets=tuple(targets[bend.id]), line_style=line))
    return out


MAIN_TRIES = 8  # main pitches tried for markers, from the preferred one to the widest
CROSS_TRIES = 4  # cross pitches of collapsed layers tried, from theirs to the tallest

Box = tuple[int, int]


@dataclass(frozen=True)
class _Markers:
    """A network's markers (node index: (layer, label)) and what surrounds them: the units'
    (main, cross) size, the drawn layer sizes, the main axis's length, the direction and
    whether the units are round."""

    where: dict[int, tuple[int, str]]
    size: tuple[int, int]
    layers: Sequence[int]
    length: int
    right: bool
    round_: bool

    def fit(
        self, main: tuple[float, float], cross: tuple[list[float], float]
    ) -> tuple[float, list[float], dict[int, Box | None]]:
        """(main pitch, cross pitches, marker boxes) where every marker shows its label.

        main: the preferred and the widest main pitch; cross: the cross pitch of each layer
        and the tallest a collapsed layer may take. Layers move apart first, then collapsed
        layers grow taller, as long as the units' fans stay clear. Where no try fits every
        marker, the one that fits most; a marker without a box (None) keeps the units'
        shape and size, and its label will not be readable.
        """
        (preferred, widest), (pitches, tallest) = main, cross
        collapsed = {layer for layer, _ in self.where.values()}
        best: tuple[float, list[float], dict[int, Box | None]] = (
            preferred,
            pitches,
            dict.fromkeys(self.where),
        )
        for j in range(CROSS_TRIES + 1):
            grown = [
                max(p, p + (tallest - p) * j / CROSS_TRIES) if i in collapsed else p
                for i, p in enumerate(pitches)
            ]
            for k in range(MAIN_TRIES + 1):
                pitch = preferred + (widest - preferred) * k / MAIN_TRIES
                if _clear_fans(self.layers, self.size, pitch, grown, self.round_) != self.size:
                    continue
                main_at = _centres(len(self.layers), pitch, MARGIN + self.length / 2)
                boxes = {
                    i: self._box(label, at, pitch, grown, main_at)
                    for i, (at, label) in self.where.items()
                }
                if _shown(boxes) > _shown(best[2]):
                    best = (pitch, grown, boxes)
                if _shown(boxes) == len(boxes):
                    return best
        return best

    def _box(
        self,
        label: str,
        layer: int,
        pitch: float,
        pitches: Sequence[float],
        main_at: Sequence[int],
    ) -> Box | None:
        """The (main, cross) extent of a marker: its label at the largest of MARKER_SCALES
        that keeps every guarantee, on one line or two, never smaller than a unit."""
        for width, height in _label_boxes(label):
            main, cross = (width, height) if self.right else (height, width)
            ext = (max(main, self.size[0]), max(cross, self.size[1]))
            if self._holds(ext, layer, pitch, pitches, main_at[layer]):
                return ext
        return None

    def _holds(
        self, ext: Box, layer: int, pitch: float, pitches: Sequence[float], centre: int
    ) -> bool:
        """Does a marker of (main, cross) extent `ext` keep every guarantee of the layout?

        ext is at least the units' size, so its short side is theirs: it needs their gap.
        Beside it are units one cross pitch away; along the main axis, the neighbouring
        layers' units and markers. The edges that pass it closest leave (or reach) the units
        next to it at the steepest slope of the fan: the test of `_clear_fans`, for a box.
        """
        least = _required_gap(*self.size)
        half_m, half_c = ext[0] / 2, ext[1] / 2
        near = pitches[layer]
        if near - half_c - self.size[1] / 2 < least:
            return False
        # The end layers sit at the margin once layers spread out: a marker may use half of it.
        if centre - half_m < MARGIN / 2 or centre + half_m > MARGIN * 1.5 + self.length:
            return False
        for other in (layer - 1, layer + 1):
            if not 0 <= other < len(self.layers):
                continue
            if pitch - half_m - max(half_m, self.size[0] / 2) < least:
                return False
            a, b = self.layers[layer], self.layers[other]
            spread = _spread(a, b, near, pitches[other])
            room = pitch * near - CLEARANCE * math.hypot(pitch, spread)
            if half_m * spread + half_c * pitch > room:  # both sides times the edge's length
                return False
        return True


def _shown(boxes: dict[int, Box | None]) -> int:
    return sum(box is not None for box in boxes.values())


@lru_cache(maxsize=256)
def _label_boxes(label: str) -> tuple[tuple[int, int], ...]:
    """(width, height) of the smallest MARKER_SHAPE boxes that show `label`, per scale in
    MARKER_SCALES: on one line, then split into two ("..." over the count)."""
    words = label.split()
    boxes = []
    for scale in MARKER_SCALES:
        for lines in ((" ".join(words),), (words[0], " ".join(words[1:]))):
            width = max(text_width(line, scale) for line in lines) + 2 * RECT_PAD
            height = math.ceil(text_block(len(lines), scale)[0]) + 2 * RECT_PAD
            while not fit_label(label, width, height, MARKER_SHAPE).fits:  # rounding: 1-2 px
                width, height = width + 1, height + 1
            boxes.append((width, height))
    return tuple(boxes)
