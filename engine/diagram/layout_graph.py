"""Lay out a flow or a layer stack of any shape: sized nodes, skips, branches, loops, groups.

The first layout (engine/diagram/layout.py) draws networks and plain forward flows with one
node size. This one draws what sketch v2 adds (docs/sketch.md):

- layer stacks: one block per layer, typed (engine/diagram/blocks.py: kind colour, and a
  size across the stack that grows with its tensor), the label the block's own words;
- data flows: data steps as wide sharp boxes in a paler fill, processes as the sketch says;
- edge labels: a labelled edge a -> b runs a -> pill -> b, the pill a small outlined box with
  the label; the source's edges are then plain lines and each ends in an arrow after its pill
  (or after a bend point), so that no arrowhead points at a pill;
- skips: a forward edge that spans ranks runs through free slots of the ranks it passes
  (engine/diagram/ranks.py), its bends are bend points (format.md: a node of at most
  BEND px without label, drawn as a dot, no arrowhead into it);
- loops: an edge back to an earlier rank leaves its source sideways to a lane beyond every
  node of the ranks it spans, runs back along it and enters its target from that side;
- groups: a frame (format.md: a node without edges that contains the boxes of others) around
  a run of steps, its label at the top;
- canvas: everything is scaled to use the canvas (up to MAX_UP, for bigger text), and a long
  plain chain snakes over as many lines as give the largest scale.

Guarantees, for a well-formed sketch of at most MAX_NODES drawn nodes: on the canvas, no two
node boxes overlap (frames contain, they do not overlap), and no edge segment runs through a
node box other than its ends (lanes and slots keep them apart), when the scale needed stays
at or above MIN_SCALE; below that nodes still fit but get tight.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from engine.diagram import blocks, geometry
from engine.diagram.label_fit import MIN_SCALE as MIN_FONT
from engine.diagram.label_fit import RECT_PAD, tab_width, text_block, text_width
from engine.diagram.metrics import SPACING_FLOOR_PX
from engine.diagram.model import (
    CANVAS_H,
    CANVAS_W,
    MAX_NODES,
    RGB,
    TITLE_H,
    Diagram,
    DiagramError,
    Node,
)
from engine.diagram.ranks import order_ranks
from engine.diagram.sketch import Sketch, chain

MARGIN = 30
BEND = 6  # px: the size of a bend point (format.md)
SLOT = 14.0  # cross extent of a free slot that an edge passes through, at scale 1
GAP_MAIN, GAP_CROSS = 46.0, 34.0  # between ranks / between neighbours in a rank, at scale 1
LANE = 30.0  # between a loop's lane and the nodes (and the next lane), at scale 1
MAX_UP = 1.7  # the largest scale-up: bigger only crowds the canvas with huge boxes
GOOD_SCALE = 0.85  # a chain snakes only when one line would shrink it below this
TEXT_SCALE = 0.6  # nodes are sized for their label at this font scale ...
TEXT_FLOOR = 0.3  # the smallest scale that text is sized for
SETTLE = 8  # layouts tried at most, each at the scale the one before needed
TEXT_WIDTHS = (150, 96, 64)  # ... wrapped onto two lines when one line is wider than this
MAX_BOX = (260, 120)  # a flow box's preferred size is capped: bigger only shrinks the rest
PILL_FILL: RGB = (255, 255, 255)
FRAME_FILL: RGB = (247, 247, 247)
FRAME_PAD = 14.0
FRAME_TITLE = 26.0  # room at the top of a frame for its label


@dataclass
class _Box:
    """One node to place: its text and look, its (main, cross) size at scale 1, its targets."""

    label: str
    shape: str
    fill: RGB
    size: tuple[float, float]
    targets: list[int]
    line_style: str
    bend: bool = False  # a bend point
    main: float = 0.0  # centre, at scale 1
    cross: float = 0.0


def layout_graph(sketch: Sketch) -> Diagram:
    """The node list of a v2 flow or stack (see the module docstring)."""
    n = len(sketch.steps)
    if n == 0:
        raise DiagramError("the sketch has no layers and no steps")
    if n > MAX_NODES:
        raise DiagramError(f"this diagram would have {n} nodes; the limit is {MAX_NODES}")
    right = sketch.direction == "right"
    edges, labels = _edges_of(sketch)
    loops = back_edges(n, edges)
    forward = [(a, b, t) for (a, b), t in zip(edges, labels, strict=True) if (a, b) not in loops]
    back = [(a, b, t) for (a, b), t in zip(edges, labels, strict=True) if (a, b) in loops]
    plain_chain = edges == chain(n) and not any(labels) and not sketch.groups
    best: _Try | None = None
    for text_w in TEXT_WIDTHS:  # narrower labels (two lines) until the text keeps its size
        tried = _settle(sketch, text_w, forward, back, right, plain_chain)
        if best is None or (tried.settled, tried.scale) > (best.settled, best.scale + 0.02):
            best = tried
        if tried.scale >= 1:
            break
    assert best is not None
    if len(best.boxes) > MAX_NODES:
        raise DiagramError(
            f"this diagram would have {len(best.boxes)} nodes with its bends and labels; "
            f"the limit is {MAX_NODES}"
        )
    return _finish(sketch, best.boxes, right, best.expected)


@dataclass
class _Try:
    """A layout sized for the `expected` scale, that needs `scale` to fit the canvas;
    settled: `scale` is no smaller (nor below TEXT_FLOOR), so its gaps and text hold in
    pixels."""

    boxes: list[_Box]
    expected: float
    scale: float

    @property
    def settled(self) -> bool:
        return self.scale >= max(self.expected * 0.99, TEXT_FLOOR)


def _settle(
    sketch: Sketch,
    text_w: float,
    forward: list[tuple[int, int, str]],
    back: list[tuple[int, int, str]],
    right: bool,
    plain_chain: bool,
) -> _Try:
    """Lay out for scale 1, then for the scale that needed, ... until it holds (gaps and
    text that must keep their pixel size grow as the scale shrinks)."""
    expected = 1.0
    for _ in range(SETTLE):
        boxes = _step_boxes(sketch, right, text_w, expected)
        placed = (_snake(boxes, right, expected) if plain_chain else None) or _ranked(
            sketch, boxes, forward, back, right, expected
        )
        extent = _extent(placed + _frames(sketch, placed, expected))
        tried = _Try(placed, expected, _fit_scale(*extent, right))
        if tried.settled:
            break
        expected = tried.scale
    return tried


def back_edges(n: int, edges: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
    """The loops: the edges into a step from steps not yet placed when it is placed, steps
    being placed in topological order (a step once all its predecessors are). Where every
    step left waits on one not placed, a cycle is broken at the step that closes the
    fewest loops and, among those, has the most predecessors placed (it is where the cycle
    is entered); with none placed, at its first step. So the loops depend on the graph,
    not on the order the steps are listed in, a loop's target reaches its source the long
    way, an edge on no cycle is never a loop, and the other edges hold no cycle."""
    preds: list[set[int]] = [set() for _ in range(n)]
    succ: list[set[int]] = [set() for _ in range(n)]
    for a, b in edges:
        preds[b].add(a)
        succ[a].add(b)
    placed: set[int] = set()
    back: set[tuple[int, int]] = set()
    while len(placed) < n:
        left = [i for i in range(n) if i not in placed]
        ready = [i for i in left if preds[i] <= placed]
        if ready:
            placed.update(ready)
            continue
        entered = [i for i in left if preds[i] & placed]
        step = min(entered, key=lambda i: (len(preds[i] - placed), -len(preds[i] & placed)),
                   default=left[0])
        for a in preds[step] - placed:
            if _reaches(succ, step, a):  # an edge on no cycle is no loop
                back.add((a, step))
                succ[a].discard(step)
        placed.add(step)
    return back


def _reaches(succ: list[set[int]], start: int, goal: int) -> bool:
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        for nxt in succ[node] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return False


# ---- what each step looks like -------------------------------------------------------------


def _lighter(rgb: RGB, share: float = 0.55) -> RGB:
    r, g, b = (round(c + (255 - c) * share) for c in rgb)
    return (r, g, b)


def _text_size(label: str, text_w: float, scale: float) -> tuple[float, float]:
    """(width, height) at scale 1 of a box that shows `label` at TEXT_SCALE, and still at
    the smallest readable font (label_fit.MIN_SCALE) once the drawing is drawn at `scale`;
    on two lines when one line would be wider than text_w at TEXT_SCALE. Below
    TEXT_FLOOR text cannot stay readable: it is sized for TEXT_FLOOR."""
    scale = max(scale, TEXT_FLOOR)
    font = max(TEXT_SCALE, MIN_FONT / scale)
    pad = 2 * RECT_PAD + 8  # px: the padding does not scale with the drawing
    pad_at_1 = max(pad, pad / scale)
    words = label.split() or [""]
    if text_width(" ".join(words), TEXT_SCALE) <= text_w or len(words) == 1:
        return text_width(" ".join(words), font) + pad_at_1, text_block(1, font)[0] + pad_at_1
    best = min(
        (max(text_width(" ".join(words[:i]), font), text_width(" ".join(words[i:]), font))
         for i in range(1, len(words))),
    )
    return best + pad_at_1, text_block(2, font)[0] + pad_at_1


def _step_boxes(sketch: Sketch, right: bool, text_w: float, scale: float) -> list[_Box]:
    """The steps' boxes: blocks typed and sized by tensor, data and processes told apart;
    their text readable once drawn at `scale`."""
    style = sketch.line_style
    shape = "round rectangle" if sketch.shape == "circle" else sketch.shape
    if not sketch.stack:
        out = []
        for i, name in enumerate(sketch.steps):
            w, h = _text_size(name, text_w, scale)
            pw, ph = min(sketch.size[0], MAX_BOX[0]), min(sketch.size[1], MAX_BOX[1])
            if i in sketch.data:  # data: wider and sharp-cornered, a paler fill
                size = (max(w, pw * 1.15), max(h, ph * 1.1))
                box = _Box(name, "rectangle", _lighter(sketch.fill), size, [], style)
            else:
                size = (max(w, pw if sketch.shape != "circle" else w), max(h, ph))
                box = _Box(name, shape, sketch.fill, size, [], style)
            out.append(box if right else replace(box, size=(box.size[1], box.size[0])))
        return out
    read = [blocks.read_block(name) for name in sketch.steps]
    feeding = [[a for a, b in sketch.flow_edges() if b == i] for i in range(len(read))]
    across = blocks.cross_sizes(read, feeding)
    out = []
    for block, cross in zip(read, across, strict=True):
        text = blocks.label(block.name)
        if block.kind == "merge" and text.lower() in {"add", "+", "sum", "⊕", "concat"}:
            symbol = "+" if text.lower() != "concat" else "concat"
            w, h = _text_size(symbol, TEXT_WIDTHS[0], scale)
            d = max(40.0, w, h)
            out.append(_Box(symbol, "circle", block.fill, (d, d), [], style))
            continue
        w, h = _text_size(text, text_w, scale)
        fill = block.fill if block.kind != "step" else sketch.fill
        main = w if right else h
        out.append(_Box(text, shape, fill, (main, max(cross, h if right else w)), [], style))
    return out


def _edges_of(sketch: Sketch) -> tuple[tuple[tuple[int, int], ...], tuple[str, ...]]:
    edges = sketch.flow_edges()
    labels = sketch.edge_labels if sketch.edges else ()
    return edges, labels or ("",) * len(edges)


# ---- a long chain, snaked ------------------------------------------------------------------


def _available(right: bool) -> tuple[float, float]:
    w, h = CANVAS_W - 2 * MARGIN, CANVAS_H - 2 * MARGIN
    return (w, h) if right else (h, w)


def _fit_scale(main: float, cross: float, right: bool) -> float:
    avail = _available(right)
    return min(avail[0] / max(main, 1.0), avail[1] / max(cross, 1.0), MAX_UP)


def _snake(boxes: list[_Box], right: bool, scale: float) -> list[_Box] | None:
    """A chain on 1..4 lines of equal count, every other line backwards, at the largest scale;
    None when one line is best (the ranked layout draws it the same)."""
    n = len(boxes)
    best: tuple[float, int] | None = None
    gap = max(
        _gap(b.size, b.size, GAP_MAIN, scale) for b in boxes
    )
    for lines in range(1, min(4, n) + 1):
        per = math.ceil(n / lines)
        rows = [boxes[i : i + per] for i in range(0, n, per)]
        main = max(sum(b.size[0] for b in row) + gap * (len(row) - 1) for row in rows)
        cross = sum(max(b.size[1] for b in row) for row in rows) + gap * (len(rows) - 1)
        scale = _fit_scale(main, cross, right)
        if best is None or scale > best[0] + 0.05:
            best = (scale, lines)
        if scale >= GOOD_SCALE:  # the fewest lines that keep boxes and text near full size
            break
    assert best is not None
    if best[1] == 1:
        return None
    per = math.ceil(n / best[1])
    rows = [list(range(i, min(n, i + per))) for i in range(0, n, per)]
    out = [replace(b, targets=[i + 1] if i + 1 < n else []) for i, b in enumerate(boxes)]
    width = max(sum(out[i].size[0] for i in row) + gap * (len(row) - 1) for row in rows)
    cross_at = 0.0
    for k, row in enumerate(rows):
        tall = max(out[i].size[1] for i in row)
        at = 0.0 if k % 2 == 0 else width
        for i in row:
            w = out[i].size[0]
            out[i].main = at + w / 2 if k % 2 == 0 else at - w / 2
            out[i].cross = cross_at + tall / 2
            at = at + w + gap if k % 2 == 0 else at - w - gap
        cross_at += tall + gap
    return out


# ---- ranks, slots, lanes -------------------------------------------------------------------


def _longest_path(count: int, links: Sequence[tuple[int, int]]) -> list[int]:
    """Rank of each box: the longest path to it over `links` (which hold no cycle)."""
    rank = [0] * count
    for _ in range(count):
        changed = False
        for a, b in links:
            if rank[b] < rank[a] + 1:
                rank[b], changed = rank[a] + 1, True
        if not changed:
            break
    return rank


def _ranked(
    sketch: Sketch,
    steps: list[_Box],
    forward: list[tuple[int, int, str]],
    back: list[tuple[int, int, str]],
    right: bool,
    scale: float,
) -> list[_Box]:
    """Boxes placed by rank, with gaps for the expected `scale`. In a chain with skips (every
    rank one step), a forward edge that skips ranks runs on a lane on the near side and a
    loop on the far side, labels as pills on the lanes; elsewhere a labelled edge gets a
    pill of its own rank, and long edges run through free slots."""
    boxes = [replace(b, targets=[]) for b in steps]
    first = _longest_path(len(boxes), [(a, b) for a, b, _ in forward])
    chain_like = len(set(first)) == len(first)
    skips = [(a, b, t) for a, b, t in forward if chain_like and first[b] - first[a] >= 2]
    ranked = [e for e in forward if e not in skips]
    links: list[tuple[int, int]] = []  # forward links between boxes, pills included
    sources = {a for a, _, t in ranked if t}  # nodes with a labelled edge between ranks
    for a, b, text in ranked:
        if text or a in sources:
            pill = len(boxes)
            boxes.append(_pill(text, sketch, right, scale) if text else _bend(sketch))
            links += [(a, pill), (pill, b)]
        else:
            links.append((a, b))
    rank = _longest_path(len(boxes), links)
    lanes_far = back + skips if sketch.groups and right else back
    lanes_near = [] if sketch.groups and right else skips
    order = order_ranks(len(boxes), rank, links, _pins(lanes_near, lanes_far))
    # Main axis: ranks one after another; cross axis: items stacked, centred on 0.
    sized = [[_item_size(boxes, it, scale) for it in items] for items in order]
    main_sizes = [max((size[0] for size in sizes), default=0.0) for sizes in sized]
    # The gap must suit every pair across two ranks: the largest short side of each rank.
    shortest = [max((min(size) for size in sizes), default=0.0) for sizes in sized]
    room = _frame_room(sketch, rank, len(order), right, scale)
    main_at, at = [], 0.0
    for r, size in enumerate(main_sizes):
        if r:
            at += _gap((shortest[r - 1],) * 2, (shortest[r],) * 2, GAP_MAIN, scale) + room[r]
        main_at.append(at + size / 2)
        at += size
    slot_at: dict[tuple[int, int], tuple[float, float]] = {}
    for r, items in enumerate(order):
        full = [_item_size(boxes, it, scale) for it in items]
        gaps = [_gap(p, q, GAP_CROSS, scale) for p, q in zip(full, full[1:], strict=False)]
        c = -(sum(f[1] for f in full) + sum(gaps)) / 2
        for k, (item, size) in enumerate(zip(items, full, strict=True)):
            centre = c + size[1] / 2
            if isinstance(item, int):
                boxes[item].main, boxes[item].cross = main_at[r], centre
            else:
                slot_at[item] = (main_at[r], centre)
            c += size[1] + (gaps[k] if k < len(gaps) else 0.0)
    for k, (a, b) in enumerate(links):
        passed = [(slot_at[(k, r)], main_sizes[r]) for r in range(rank[a] + 1, rank[b])]
        _route_forward(boxes, a, b, _slot_path(boxes, a, b, passed, scale), sketch)
    frames = _frames(sketch, boxes, scale)  # the steps' frames: lanes run outside them
    _route_lanes(boxes, lanes_near, -1, sketch, right, scale, frames)
    _route_lanes(boxes, lanes_far, +1, sketch, right, scale, frames)
    return boxes


Point = tuple[float, float]


def _slot_path(
    boxes: list[_Box], a: int, b: int, slots: list[tuple[Point, float]], scale: float
) -> list[Point]:
    """Where an edge a -> b bends through the free slots it passes ((centre, band) each):
    at a slot's centre, or where a segment through the centre would clip a box, at both
    ends of the slot's band (`_across`)."""
    others = [x for i, x in enumerate(boxes) if i not in (a, b)]
    obstacles = np.array(
        [(x.main - x.size[0] / 2, x.cross - x.size[1] / 2,
          x.main + x.size[0] / 2, x.cross + x.size[1] / 2) for x in others]
    ).reshape(-1, 4)  # fmt: skip
    points: list[Point] = []
    at = (boxes[a].main, boxes[a].cross)
    for i, (centre, band) in enumerate(slots):
        after = slots[i + 1][0] if i + 1 < len(slots) else (boxes[b].main, boxes[b].cross)
        bent = _across(centre, band, scale)
        if len(bent) > 1 and not geometry.any_through([(at, centre), (centre, after)], obstacles):
            bent = [centre]
        points += bent
        at = bent[-1]
    return points


def _across(slot: Point, band: float, scale: float) -> list[Point]:
    """Where an edge bends through a free slot whose centred bend would let it clip a box:
    at both ends of its rank's band (`band` long along the main axis), the bends just
    inside it, so that it runs straight along the whole band (a slanted segment that
    started or ended mid-band could clip a box beside the slot); at the slot's centre where
    the band is too short to keep two bends a comfortable gap apart."""
    half = band / 2 - BEND / 2 / scale
    if (2 * half - BEND / scale) * scale < SPACING_FLOOR_PX / 2 + 2:
        return [slot]
    return [(slot[0] - half, slot[1]), (slot[0] + half, slot[1])]


def _pins(near: list[tuple[int, int, str]], far: list[tuple[int, int, str]]) -> dict[int, int]:
    """The ends of near-side lanes first in their rank (-1), of far-side lanes last (+1), so
    that a lane's leg into its node passes no neighbour of that node (a node at both kinds
    of end is not pinned)."""
    ends = {x: -1 for a, b, _ in near for x in (a, b)}
    for a, b, _ in far:
        for x in (a, b):
            ends[x] = 0 if ends.get(x, 1) <= 0 else 1
    return {x: side for x, side in ends.items() if side}


def _frame_room(
    sketch: Sketch, rank: list[int], ranks: int, right: bool, scale: float
) -> list[float]:
    """Room each rank r needs before it, on top of the gap from rank r - 1, for the
    frames that start at r (their padding, and going down their title) or end at r - 1,
    so that a frame keeps the gap from the boxes outside it."""
    room = [0.0] * ranks
    title = 0.0 if right else _frame_title(scale)
    for first, last, _ in sketch.groups:
        inside = rank[first : last + 1]
        room[min(inside)] += FRAME_PAD + title
        if max(inside) + 1 < ranks:
            room[max(inside) + 1] += FRAME_PAD
    room[0] = 0.0
    return room


def _gap(a: tuple[float, float], b: tuple[float, float], base: float, s: float) -> float:
    """The gap between two boxes at scale 1: `base`, or more where the readability metric
    asks for half the smaller short side, at least half of SPACING_FLOOR_PX once drawn at
    the expected scale (plus two pixels for rounding)."""
    return max(base, (0.5 * max(min(*a, *b) * s, SPACING_FLOOR_PX) + 2) / s)


def _item_size(
    boxes: list[_Box], item: int | tuple[int, int], scale: float
) -> tuple[float, float]:
    """A box's size, or a free slot's: room for a bend point, which keeps its pixel size."""
    slot = max(SLOT, (BEND + 2) / scale)
    return boxes[item].size if isinstance(item, int) else (slot, slot)


def _pill(
    text: str, sketch: Sketch, right: bool, scale: float, text_w: float = TEXT_WIDTHS[0]
) -> _Box:
    """An edge label's box, its text readable once drawn at `scale` (on two lines when one
    would be wider than text_w)."""
    w, h = _text_size(text, text_w, scale)
    size = (w, h) if right else (h, w)
    return _Box(text, "round rectangle", PILL_FILL, size, [], sketch.line_style)


def _bend(sketch: Sketch, main: float = 0.0, cross: float = 0.0) -> _Box:
    style = "dashed line" if sketch.line_style == "dashed line" else "solid line"
    return _Box("", "circle", sketch.line_color, (BEND, BEND), [], style, True, main, cross)


def _route_forward(
    boxes: list[_Box], a: int, b: int, slots: list[tuple[float, float]], sketch: Sketch
) -> None:
    """a -> b through the free slots it passes: a bend where the path turns."""
    points = [(boxes[a].main, boxes[a].cross), *slots, (boxes[b].main, boxes[b].cross)]
    keep = [
        p for i, p in enumerate(points[1:-1], start=1)
        if not (abs(points[i - 1][1] - p[1]) < 0.5 and abs(points[i + 1][1] - p[1]) < 0.5)
    ]
    at = a
    for main, cross in keep:
        boxes.append(_bend(sketch, main, cross))
        boxes[at].targets.append(len(boxes) - 1)
        at = len(boxes) - 1
    boxes[at].targets.append(b)
    if keep:  # the last segment carries the source's style (its arrowhead)
        boxes[at].line_style = sketch.line_style


def _route_lanes(
    boxes: list[_Box],
    edges: list[tuple[int, int, str]],
    side: int,
    sketch: Sketch,
    right: bool,
    scale: float,
    frames: Sequence[_Box] = (),
) -> None:
    """Each edge a -> b on a lane of its own, on the near (side -1) or far (+1) side of every
    box and frame between a and b along the main axis: out of a sideways, along the lane
    (through its label's pill), into b from that side. A lane keeps a lane's gap from the
    boxes, frames and other lanes (pills counted at their size), shorter edges take the
    inner lanes, and the lanes at one node meet it at points of their own
    (`_attach_offsets`)."""
    edges = sorted(edges, key=lambda e: abs(boxes[e[0]].main - boxes[e[1]].main))
    offsets = _attach_offsets(boxes, edges)
    gap = _gap((BEND, BEND), (BEND, BEND), LANE, scale) + BEND / scale
    taken: list[tuple[float, float, float, float]] = []  # (main lo, main hi, lane, half)
    for k, (a, b, text) in enumerate(edges):
        lo, hi = sorted((boxes[a].main, boxes[b].main))
        spanned = [x for x in boxes if lo - 1 <= x.main <= hi + 1] + [
            f for f in frames if f.main - f.size[0] / 2 <= hi and lo <= f.main + f.size[0] / 2
        ]
        ends = (boxes[a].main + offsets[k, a], boxes[b].main + offsets[k, b])
        pill = _pill(text, sketch, right, scale) if text else None
        if pill and pill.size[0] + BEND > abs(ends[1] - ends[0]):
            # wider than the room between its lane's two bends ("for each epoch" on a loop
            # between neighbours): on two lines, or it covers them
            pill = _pill(text, sketch, right, scale, text_w=0.0)
        half = pill.size[1] / 2 if pill else 0.0
        lane = side * max(
            side * x.cross + x.size[1] / 2 + _lane_clearance(pill, x, gap, scale)
            for x in spanned
        )
        for l0, l1, used, used_half in taken:
            if l0 <= hi and lo <= l1 and side * lane < side * used + gap + half + used_half:
                lane = used + side * (gap + half + used_half)
        taken.append((lo, hi, lane, half))
        path = [_bend(sketch, ends[0], lane)]
        if pill:
            pill.main, pill.cross = (boxes[a].main + boxes[b].main) / 2, lane
            pill.line_style = path[0].line_style
            path.append(pill)
        path.append(_bend(sketch, ends[1], lane))
        path[-1].line_style = sketch.line_style
        at = a
        for box in path:
            boxes.append(box)
            boxes[at].targets.append(len(boxes) - 1)
            at = len(boxes) - 1
        boxes[at].targets.append(b)


def _lane_clearance(pill: _Box | None, box: _Box, gap: float, scale: float) -> float:
    """How far a lane runs from the side of `box`: a lane's gap, or for a lane with a pill
    half the pill plus the gap the spacing metric asks between the pill and the box."""
    if pill is None:
        return gap
    return max(gap, pill.size[1] / 2 + _gap(pill.size, box.size, LANE, scale))


def _attach_offsets(
    boxes: list[_Box], edges: list[tuple[int, int, str]]
) -> dict[tuple[int, int], float]:
    """(edge index, node) -> where along the node's main extent, from its centre, that
    lane meets it. The k lanes at one node are spread evenly over its side (one lane: the
    centre); those to earlier nodes come first, and among lanes going one way the farther
    lane meets the node nearer the way it goes, so that no lane's leg crosses
    another's, nor two legs coincide."""
    ends: dict[int, list[tuple[int, int]]] = {}  # node -> [(edge index, other end)]
    for k, (a, b, _) in enumerate(edges):
        ends.setdefault(a, []).append((k, b))
        ends.setdefault(b, []).append((k, a))
    offsets: dict[tuple[int, int], float] = {}
    for node, here in ends.items():
        at = boxes[node].main
        here.sort(key=lambda e: (boxes[e[1]].main > at, -boxes[e[1]].main))
        length = boxes[node].size[0]
        for j, (k, _) in enumerate(here):
            offsets[k, node] = length * ((j + 1) / (len(here) + 1) - 0.5)
    return offsets


# ---- scale to the canvas, frames, nodes ----------------------------------------------------


def _bounds(boxes: Sequence[_Box]) -> tuple[float, float, float, float]:
    """(main lo, main hi, cross lo, cross hi) of the boxes, at scale 1."""
    return (
        min(b.main - b.size[0] / 2 for b in boxes),
        max(b.main + b.size[0] / 2 for b in boxes),
        min(b.cross - b.size[1] / 2 for b in boxes),
        max(b.cross + b.size[1] / 2 for b in boxes),
    )


def _extent(boxes: Sequence[_Box]) -> tuple[float, float]:
    lo_m, hi_m, lo_c, hi_c = _bounds(boxes)
    return hi_m - lo_m, hi_c - lo_c


def _finish(sketch: Sketch, boxes: list[_Box], right: bool, expected: float) -> Diagram:
    """Scale and centre on the canvas, add group frames (sized for the `expected` scale
    the boxes were laid out for), and write the node list."""
    frames = _frames(sketch, boxes, expected)
    lo_m, hi_m, lo_c, hi_c = _bounds(boxes + frames)
    scale = _fit_scale(hi_m - lo_m, hi_c - lo_c, right)
    avail = _available(right)
    mid_m, mid_c = (lo_m + hi_m) / 2, (lo_c + hi_c) / 2
    nodes: list[Node] = []
    order = frames + boxes  # frames first: drawn behind what they contain
    index = {id(b): i for i, b in enumerate(order)}
    for i, b in enumerate(order):
        main = MARGIN + avail[0] / 2 + (b.main - mid_m) * scale
        cross = MARGIN + avail[1] / 2 + (b.cross - mid_c) * scale
        if b.bend:
            w = h = BEND
        else:
            w, h = (max(1, math.floor(s * scale)) for s in b.size)
        x, y = (main, cross) if right else (cross, main)
        width, height = (w, h) if right else (h, w)
        nodes.append(
            Node(
                id=i,
                x=round(x),
                y=round(y),
                shape=b.shape,
                width=width,
                height=height,
                line_style=b.line_style,
                fill=b.fill,
                line_color=sketch.line_color,
                targets=tuple(index[id(boxes[t])] for t in b.targets),
                label=b.label,
            )
        )
    return Diagram(tuple(nodes))


def _frame_title(scale: float) -> float:
    """The room at a frame's top for its title strip: model.TITLE_H px once drawn at
    `scale` (the renderer's strip), FRAME_TITLE at least."""
    return max(FRAME_TITLE, (TITLE_H + 2) / scale)


def _frames(sketch: Sketch, boxes: Sequence[_Box], scale: float) -> list[_Box]:
    """A frame around each group's steps, with room at its top for its title strip."""
    frames = []
    title = _frame_title(scale)
    title_m, title_c = (0.0, title) if sketch.direction == "right" else (title, 0.0)
    for first, last, text in sketch.groups:
        inside = boxes[first : last + 1]
        lo_m = min(b.main - b.size[0] / 2 for b in inside) - FRAME_PAD - title_m
        hi_m = max(b.main + b.size[0] / 2 for b in inside) + FRAME_PAD
        lo_c = min(b.cross - b.size[1] / 2 for b in inside) - FRAME_PAD - title_c
        hi_c = max(b.cross + b.size[1] / 2 for b in inside) + FRAME_PAD
        if sketch.direction == "down":  # edges come in through the top, where the title is
            tab = (tab_width(text, 10**4, TITLE_H) + 4) / scale  # its tab, then a gap
            lo_c = min(lo_c, _first_crossing(boxes, (lo_m, lo_m + title_m), (lo_c, hi_c)) - tab)
        frame = _Box(text, "rectangle", FRAME_FILL, (hi_m - lo_m, hi_c - lo_c), [], "dashed line")
        frame.main, frame.cross = (lo_m + hi_m) / 2, (lo_c + hi_c) / 2
        frames.append(frame)
    return frames


def _first_crossing(
    boxes: Sequence[_Box], band: tuple[float, float], span: tuple[float, float]
) -> float:
    """The least cross coordinate within `span` at which an edge (centre to centre) runs
    through the main-axis `band`; span's far end when none does."""
    first = span[1]
    for box in boxes:
        for t in box.targets:
            (pm, pc), (qm, qc) = (box.main, box.cross), (boxes[t].main, boxes[t].cross)
            if max(pm, qm) < band[0] or min(pm, qm) > band[1]:
                continue
            ts = (0.0, 1.0) if pm == qm else [(m - pm) / (qm - pm) for m in band]
            ends = [pc + (qc - pc) * min(1.0, max(0.0, u)) for u in ts]
            low, high = min(ends), max(ends)
            if high >= span[0] and low <= span[1]:
                first = min(first, max(low, span[0]))
    return first
