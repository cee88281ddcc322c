"""Optional, explicit repair of a diagram's fixable problems, with a list of what changed.

Repair never runs behind anyone's back: callers ask for it and show its changes. It only
makes small, local edits a person would make by hand: drop links that point nowhere or to
the node itself, clamp colours into 0-255, move nodes back onto the canvas (shrinking only
a node bigger than the canvas), and nudge overlapping nodes apart. Same input, same output.
"""

from __future__ import annotations

import math

import numpy as np

from engine.diagram import geometry
from engine.diagram.model import CANVAS_H, CANVAS_W, Diagram, Node

GAP = 4  # px left between two nodes pushed apart, so they do not merely touch
MAX_PASSES = 50  # separation passes; a pile that will not fit the canvas stops here


def repair(diagram: Diagram) -> tuple[Diagram, list[str]]:
    """The repaired diagram and one human sentence per change (same diagram when none)."""
    changes: list[str] = []
    ids = {n.id for n in diagram.nodes}
    nodes = [_fix_colours(_fix_targets(n, ids, changes), changes) for n in diagram.nodes]
    nodes = [_fit_canvas(n, changes) for n in nodes]
    nodes = _separate(nodes, changes)
    if not changes:
        return diagram, []
    return Diagram(tuple(nodes)), changes


def _fix_targets(node: Node, ids: set[int], changes: list[str]) -> Node:
    kept = tuple(t for t in node.targets if t != node.id and t in ids)
    if kept == node.targets:
        return node
    for t in node.targets:
        if t == node.id:
            changes.append(f"node {node.id}: dropped its link to itself")
        elif t not in ids:
            changes.append(f"node {node.id}: dropped target {t}, which does not exist")
    return node.moved(targets=kept)


def _clamp_rgb(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    r, g, b = (min(255, max(0, c)) for c in colour)
    return r, g, b


def _fix_colours(node: Node, changes: list[str]) -> Node:
    fill, line = _clamp_rgb(node.fill), _clamp_rgb(node.line_color)
    if fill != node.fill:
        changes.append(f"node {node.id}: fill {node.fill} clamped to {fill}")
    if line != node.line_color:
        changes.append(f"node {node.id}: line colour {node.line_color} clamped to {line}")
    if (fill, line) == (node.fill, node.line_color):
        return node
    return node.moved(fill=fill, line_color=line)


def _span(centre: int, size: int, limit: int) -> int:
    """The centre nearest `centre` that keeps a box of `size` inside 0..limit."""
    half = math.ceil(size / 2)
    return min(max(centre, half), limit - half)


def _fit_canvas(node: Node, changes: list[str]) -> Node:
    if node.width <= 0 or node.height <= 0:
        return node  # no box to place; validation reports the size
    w, h = min(node.width, CANVAS_W), min(node.height, CANVAS_H)
    if (w, h) != (node.width, node.height):
        size = f"{node.width} x {node.height} to {w} x {h}"
        changes.append(f"node {node.id}: shrunk from {size} to fit the canvas")
    x, y = _span(node.x, w, CANVAS_W), _span(node.y, h, CANVAS_H)
    if (x, y) != (node.x, node.y):
        where = f"({node.x}, {node.y}) to ({x}, {y})"
        changes.append(f"node {node.id}: moved from {where} to fit the canvas")
    return node.moved(x=x, y=y, width=w, height=h)


def _overlap(a: Node, b: Node) -> tuple[float, float]:
    """Overlap of the two boxes along x and y (a side <= 0 means they are apart)."""
    ax0, ay0, ax1, ay1 = a.box
    bx0, by0, bx1, by1 = b.box
    return min(ax1, bx1) - max(ax0, bx0), min(ay1, by1) - max(ay0, by0)


def _push(nodes: list[Node], i: int, j: int, axis: str, need: int) -> bool:
    """Move nodes i and j apart by `need` px along `axis`, half each, within the canvas.

    When the canvas edge stops one node, the other takes the rest of the move. Returns
    whether the full distance was made.
    """
    a, b = nodes[i], nodes[j]
    size, limit = ("width", CANVAS_W) if axis == "x" else ("height", CANVAS_H)
    pa, pb = getattr(a, axis), getattr(b, axis)
    sign = -1 if (pa, i) < (pb, j) else 1  # i goes toward its own side of j
    new_a = _span(pa + sign * (need // 2), getattr(a, size), limit)
    new_b = _span(pb - sign * (need - abs(new_a - pa)), getattr(b, size), limit)
    new_a = _span(pa + sign * (need - abs(new_b - pb)), getattr(a, size), limit)
    nodes[i], nodes[j] = a.moved(**{axis: new_a}), b.moved(**{axis: new_b})
    return abs(new_a - pa) + abs(new_b - pb) >= need


def _separate(nodes: list[Node], changes: list[str]) -> list[Node]:
    """Push overlapping pairs apart along the axis of least overlap until none overlap.

    Bounded by MAX_PASSES; when the nodes cannot fit side by side, overlaps remain.
    """
    before = list(nodes)
    sized = [k for k, n in enumerate(nodes) if n.width > 0 and n.height > 0]
    for _ in range(MAX_PASSES):
        inter = geometry.intersection_areas(geometry.boxes([nodes[k] for k in sized]))
        pairs = [(sized[a], sized[b]) for a, b in zip(*np.nonzero(np.triu(inter)), strict=True)]
        if not pairs:
            break
        for i, j in pairs:
            ox, oy = _overlap(nodes[i], nodes[j])  # earlier pushes of this pass count
            if ox <= 0 or oy <= 0:
                continue
            # Least overlap first; on a tie (same centres) alternate, so piles spread in 2D.
            x_first = ox < oy or (ox == oy and (i + j) % 2 == 0)
            order = [("x", ox), ("y", oy)] if x_first else [("y", oy), ("x", ox)]
            for axis, amount in order:
                if _push(nodes, i, j, axis, math.ceil(amount) + GAP):
                    break
    for old, new in zip(before, nodes, strict=True):
        if (old.x, old.y) != (new.x, new.y):
            where = f"({old.x}, {old.y}) to ({new.x}, {new.y})"
            changes.append(f"node {new.id}: moved from {where} to clear an overlap")
    return nodes
