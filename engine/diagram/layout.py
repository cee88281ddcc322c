"""Expand a sketch into a node list: layered, evenly spaced, centred, always on the canvas.

Layers (networks) or ranks (flows) run along the *main* axis (x for direction right, y for
down); the nodes of one layer or rank are stacked along the *cross* axis. All nodes share one
size: the preferred size, shrunk when needed so that neighbours keep a comfortable gap
(metrics.COMFORT_SPACING: half the short side, at least half of SPACING_FLOOR_PX) inside the
canvas margin, or as much of it as 200 nodes leave (never less than 1 px). So a well-formed
sketch of at most MAX_NODES nodes never overlaps and never leaves the canvas.

Flows rank steps by the longest path over their forward edges (an edge to an earlier step is a
back edge: drawn, but not used for ranking). An edge that spans several ranks gets a free slot
in every rank it passes, and the order inside each rank is chosen to avoid crossings
(barycentre sweeps, then adjacent swaps). A plain chain longer than MAX_LINE snakes over
several lines, so that its boxes keep a readable size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.diagram.metrics import COMFORT_SPACING, SPACING_FLOOR_PX
from engine.diagram.model import CANVAS_H, CANVAS_W, MAX_NODES, Diagram, DiagramError, Node
from engine.diagram.sketch import Sketch, chain

MARGIN = 30
MAX_SEGMENTS = 300  # beyond this many edge segments, skip crossing reduction (it is quadratic)
MAX_LINE = {"right": 6, "down": 8}  # steps of a plain chain on one line before it snakes
CLEARANCE = 2.0  # px between an edge and a node it passes (the metric forgives 1 px)


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


def layout(sketch: Sketch) -> Diagram:
    """The node list of a sketch (see the module docstring for the rules)."""
    n = sketch.n_nodes
    if n > MAX_NODES:
        raise DiagramError(f"this diagram would have {n} nodes; the limit is {MAX_NODES}")
    if n == 0:
        raise DiagramError("the sketch has no layers and no steps")
    if sketch.kind == "network":
        slots, targets, labels = _network(sketch)
        return _place(sketch, slots, targets, labels, NETWORK_GAPS, sketch.layers)
    slots, targets, labels = _flow(sketch)
    return _place(sketch, slots, targets, labels, FLOW_GAPS, ())


def _network(sketch: Sketch) -> tuple[list[_Slot], list[tuple[int, ...]], list[str]]:
    slots: list[_Slot] = []
    targets: list[tuple[int, ...]] = []
    labels: list[str] = []
    first = 0
    for i, size in enumerate(sketch.layers):
        after = first + size
        following = sketch.layers[i + 1] if i + 1 < len(sketch.layers) else 0
        for j in range(size):
            slots.append(_Slot(i, j, size))
            targets.append(tuple(range(after, after + following)))
            labels.append(sketch.labels[i] if sketch.labels else "")
        first = after
    return slots, targets, labels


def _flow(sketch: Sketch) -> tuple[list[_Slot], list[tuple[int, ...]], list[str]]:
    n = len(sketch.steps)
    edges = sketch.flow_edges()
    targets = [tuple(b for a, b in edges if a == i) for i in range(n)]
    if edges == chain(n) and n > MAX_LINE[sketch.direction]:
        return _snake(n, MAX_LINE[sketch.direction]), targets, list(sketch.steps)
    rank = [0] * n
    for a, b in sorted(e for e in edges if e[0] < e[1]):
        rank[b] = max(rank[b], rank[a] + 1)
    order = _order(n, rank, [e for e in edges if e[0] < e[1]])
    slots = [_Slot(0, 0, 1)] * n
    for r, items in enumerate(order):
        for j, item in enumerate(items):
            if isinstance(item, int):
                slots[item] = _Slot(r, j, len(items))
    return slots, targets, list(sketch.steps)


def _snake(n: int, longest: int) -> list[_Slot]:
    """A long chain on lines of equal length; every other line runs backwards."""
    lines = math.ceil(n / longest)
    per_line = math.ceil(n / lines)
    slots = []
    for i in range(n):
        line, pos = divmod(i, per_line)
        slots.append(_Slot(per_line - 1 - pos if line % 2 else pos, line, lines))
    return slots


Item = int | tuple[int, int]  # a step, or (edge index, rank) for a long edge passing that rank
Links = list[list[tuple[Item, Item]]]  # per rank r: segments from rank r to rank r + 1


def _order(n: int, rank: list[int], edges: list[tuple[int, int]]) -> list[list[Item]]:
    """Each rank's items, ordered to avoid crossings between neighbouring ranks."""
    ranks: list[list[Item]] = [[] for _ in range(max(rank) + 1)]
    for i in range(n):
        ranks[rank[i]].append(i)
    links: Links = [[] for _ in ranks]
    for k, (a, b) in enumerate(edges):
        passing: list[Item] = [(k, r) for r in range(rank[a] + 1, rank[b])]
        for item in passing:
            ranks[item[1]].append(item)
        path = [a, *passing, b]
        for r, segment in zip(
            range(rank[a], rank[b]), zip(path, path[1:], strict=False), strict=True
        ):
            links[r].append(segment)
    if sum(len(r) for r in ranks) > MAX_NODES:  # too many passing edges: no free slots
        return [[i for i in r if isinstance(i, int)] for r in ranks]
    if sum(len(segments) for segments in links) > MAX_SEGMENTS:  # keep big inputs fast
        return ranks
    best = [list(r) for r in ranks]
    best_cost = _crossings(best, links)
    for sweep in range(8 if best_cost else 0):
        down = sweep % 2 == 0
        for r in range(1, len(ranks)) if down else range(len(ranks) - 2, -1, -1):
            ranks[r] = _by_barycentre(ranks, r, r - 1 if down else r + 1, links)
        cost = _crossings(ranks, links)
        if cost < best_cost:
            best, best_cost = [list(r) for r in ranks], cost
    return _transpose(best, links, best_cost)


def _by_barycentre(ranks: list[list[Item]], r: int, fixed: int, links: Links) -> list[Item]:
    where = {item: i for i, item in enumerate(ranks[fixed])}
    segments = links[min(r, fixed)]
    near: dict[Item, list[int]] = {}
    for a, b in segments:
        mine, other = (a, b) if fixed > r else (b, a)
        near.setdefault(mine, []).append(where[other])
    old = {item: i for i, item in enumerate(ranks[r])}

    def key(item: Item) -> tuple[float, int]:
        seen = near.get(item)
        return (sum(seen) / len(seen) if seen else old[item], old[item])

    return sorted(ranks[r], key=key)


def _crossings(ranks: list[list[Item]], links: Links) -> int:
    """Pairs of segments between the same two ranks that cross (sharing no end)."""
    pos = {item: i for items in ranks for i, item in enumerate(items)}
    total = 0
    for segments in links:
        for i, (a, b) in enumerate(segments):
            for c, d in segments[i + 1 :]:
                if a != c and b != d and (pos[a] - pos[c]) * (pos[b] - pos[d]) < 0:
                    total += 1
    return total


def _transpose(ranks: list[list[Item]], links: Links, cost: int) -> list[list[Item]]:
    """Swap neighbours inside a rank while that removes crossings."""
    improved = cost > 0
    while improved:
        improved = False
        for items in ranks:
            for j in range(len(items) - 1):
                items[j], items[j + 1] = items[j + 1], items[j]
                new = _crossings(ranks, links)
                if new < cost:
                    cost, improved = new, True
                else:
                    items[j], items[j + 1] = items[j + 1], items[j]
    return ranks


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


def _clear_fans(
    layers: Sequence[int], size: tuple[int, int], main: float, cross: float, round_: bool
) -> tuple[int, int]:
    """Shrink nodes until no full connection between two layers grazes a neighbour node.

    The closest call is the edge from one end of a layer to the far end of the next: it
    leaves its source next to the source's neighbour, at distance main * cross / length
    from that neighbour's centre. The node's extent across the edge must stay below that.
    """
    half_m, half_c = size[0] / 2, size[1] / 2
    worst = 1.0
    for a, b in zip(layers, layers[1:], strict=False):
        if max(a, b) < 2:
            continue
        spread = (a - 1 + b - 1) / 2 * cross
        length = math.hypot(main, spread)
        room = main * cross / length - CLEARANCE
        nm, nc = spread / length, main / length  # the edge's normal, in (main, cross)
        extent = math.hypot(half_m * nm, half_c * nc) if round_ else half_m * nm + half_c * nc
        worst = min(worst, room / extent)
    if worst >= 1:
        return size
    return max(1, math.floor(size[0] * worst)), max(1, math.floor(size[1] * worst))


def _place(
    sketch: Sketch,
    slots: Sequence[_Slot],
    targets: Sequence[tuple[int, ...]],
    labels: Sequence[str],
    gaps: _Gaps,
    layers: Sequence[int],
) -> Diagram:
    right = sketch.direction == "right"
    lengths = (CANVAS_W - 2 * MARGIN, CANVAS_H - 2 * MARGIN)[:: 1 if right else -1]
    pref = sketch.size if right else sketch.size[::-1]
    counts = (max(s.main for s in slots) + 1, max(s.n_cross for s in slots))
    round_ = sketch.shape == "circle"
    size = _sizes(pref, counts, lengths, round_)
    least = _required_gap(*size)
    main_pitch = _pitch(counts[0], lengths[0], size[0], least, gaps.main(size[0]))
    cross_pitch = _pitch(counts[1], lengths[1], size[1], least, gaps.cross(size[1]))
    if layers and _clear_fans(layers, size, main_pitch, cross_pitch, round_) != size:
        main_pitch = _pitch(counts[0], lengths[0], size[0], least, lengths[0])  # spread out
        size = _clear_fans(layers, size, main_pitch, cross_pitch, round_)
    main_at = _centres(counts[0], main_pitch, MARGIN + lengths[0] / 2)
    width, height = size if right else size[::-1]
    across = {
        n: _centres(n, cross_pitch, MARGIN + lengths[1] / 2) for n in {s.n_cross for s in slots}
    }
    nodes = []
    for i, slot in enumerate(slots):
        cross = across[slot.n_cross][slot.cross]
        x, y = (main_at[slot.main], cross) if right else (cross, main_at[slot.main])
        nodes.append(
            Node(
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
        )
    return Diagram(tuple(nodes))
