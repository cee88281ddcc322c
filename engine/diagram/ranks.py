"""The order of items inside each rank of a layered drawing, chosen to avoid crossings.

Steps are ranked first (by the caller); an edge that spans several ranks gets a free slot,
an item `(edge index, rank)`, in every rank it passes, so that it can run between the nodes.
Within each rank the items are ordered by barycentre sweeps (Sugiyama et al. 1981), then
neighbours are swapped while that removes crossings; the best order seen is kept. Items may
be pinned to the start (-1) or the end (+1) of their rank (a loop's ends, whose lanes run
beside the ranks): the order keeps them there throughout.
"""

from __future__ import annotations

from collections.abc import Callable

from engine.diagram.model import MAX_NODES

MAX_SEGMENTS = 300  # beyond this many edge segments, skip crossing reduction (it is quadratic)

Item = int | tuple[int, int]  # a step, or (edge index, rank) for a long edge passing that rank
Links = list[list[tuple[Item, Item]]]  # per rank r: segments from rank r to rank r + 1


def order_ranks(
    n: int, rank: list[int], edges: list[tuple[int, int]], pins: dict[int, int] | None = None
) -> list[list[Item]]:
    """Each rank's items, ordered to avoid crossings between neighbouring ranks; a step in
    `pins` stays at the start (-1) or the end (+1) of its rank."""
    pins = pins or {}
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
    def pin(item: Item) -> int:
        return pins.get(item, 0) if isinstance(item, int) else 0

    ranks = [sorted(r, key=pin) for r in ranks]
    if sum(len(r) for r in ranks) > MAX_NODES:  # too many passing edges: no free slots
        return [[i for i in r if isinstance(i, int)] for r in ranks]
    if sum(len(segments) for segments in links) > MAX_SEGMENTS:  # keep big inputs fast
        return ranks
    best = [list(r) for r in ranks]
    best_cost = _crossings(best, links)
    for sweep in range(8 if best_cost else 0):
        down = sweep % 2 == 0
        for r in range(1, len(ranks)) if down else range(len(ranks) - 2, -1, -1):
            ranks[r] = _by_barycentre(ranks, r, r - 1 if down else r + 1, links, pin)
        cost = _crossings(ranks, links)
        if cost < best_cost:
            best, best_cost = [list(r) for r in ranks], cost
    return _transpose(best, links, best_cost, pin)


def _by_barycentre(
    ranks: list[list[Item]], r: int, fixed: int, links: Links, pin: Callable[[Item], int]
) -> list[Item]:
    where = {item: i for i, item in enumerate(ranks[fixed])}
    segments = links[min(r, fixed)]
    near: dict[Item, list[int]] = {}
    for a, b in segments:
        mine, other = (a, b) if fixed > r else (b, a)
        near.setdefault(mine, []).append(where[other])
    old = {item: i for i, item in enumerate(ranks[r])}

    def key(item: Item) -> tuple[int, float, int]:
        seen = near.get(item)
        return (pin(item), sum(seen) / len(seen) if seen else old[item], old[item])

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


def _transpose(
    ranks: list[list[Item]], links: Links, cost: int, pin: Callable[[Item], int]
) -> list[list[Item]]:
    """Swap neighbours inside a rank (of one pin) while that removes crossings."""
    improved = cost > 0
    while improved:
        improved = False
        for items in ranks:
            for j in range(len(items) - 1):
                if pin(items[j]) != pin(items[j + 1]):
                    continue
                items[j], items[j + 1] = items[j + 1], items[j]
                new = _crossings(ranks, links)
                if new < cost:
                    cost, improved = new, True
                else:
                    items[j], items[j + 1] = items[j + 1], items[j]
    return ranks
