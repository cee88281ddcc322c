"""What is wrong with a parsed diagram, as a list of problems (never an exception).

The parser reports what is wrong with the *text*; this reports what is wrong with the
*drawing* the text describes: styles the renderer does not know, broken references, and
geometry a reader would stumble over (parts off the canvas, nodes on top of each other,
labels too big for their node). Each problem names the node it is about.
"""

from __future__ import annotations

import numpy as np

from engine.diagram import geometry
from engine.diagram.label_fit import fit_label
from engine.diagram.model import CANVAS_H, CANVAS_W, LINE_STYLES, SHAPES, Diagram, Node, Problem


def validate(diagram: Diagram) -> list[Problem]:
    """All problems of `diagram`, node by node in their order, then pairwise overlaps."""
    if not diagram.nodes:
        return [Problem("empty", "the diagram has no nodes")]
    problems: list[Problem] = []
    seen: set[int] = set()
    for node in diagram.nodes:
        if node.id in seen:
            problems.append(_problem(node, "duplicate id", f"id {node.id} is used before"))
        seen.add(node.id)
        problems += _node_problems(node)
    ids = {n.id for n in diagram.nodes}
    for node in diagram.nodes:
        problems += _link_problems(node, ids)
    return problems + _overlaps(diagram.without_frames().nodes)  # frames hold, not overlap


def _problem(node: Node, what: str, why: str) -> Problem:
    return Problem(what, f"node {node.id}: {why}", node_id=node.id)


def _node_problems(node: Node) -> list[Problem]:
    out: list[Problem] = []
    if node.shape not in SHAPES:
        out.append(_problem(node, "unknown shape", f"{node.shape!r} is not one of {SHAPES}"))
    if node.line_style not in LINE_STYLES:
        why = f"{node.line_style!r} is not one of {LINE_STYLES}"
        out.append(_problem(node, "unknown line style", why))
    for name, colour in (("fill", node.fill), ("line colour", node.line_color)):
        if any(not 0 <= c <= 255 for c in colour):
            out.append(_problem(node, "bad colour", f"{name} {colour} is outside 0-255"))
    if node.width <= 0 or node.height <= 0:
        why = f"size {node.width} x {node.height} must be positive"
        return [*out, _problem(node, "bad size", why)]  # no box: skip the geometry
    x0, y0, x1, y1 = node.box
    if x0 < 0 or y0 < 0 or x1 > CANVAS_W or y1 > CANVAS_H:
        why = f"box ({x0:g}, {y0:g})-({x1:g}, {y1:g}) leaves the {CANVAS_W} x {CANVAS_H} canvas"
        out.append(_problem(node, "off canvas", why))
    if node.label.strip() and not fit_label(node.label, node.width, node.height, node.shape).fits:
        why = f"label {node.label!r} is unreadably small in a {node.width} x {node.height} node"
        out.append(_problem(node, "label does not fit", why))
    return out


def _link_problems(node: Node, ids: set[int]) -> list[Problem]:
    out: list[Problem] = []
    for t in node.targets:
        if t == node.id:
            out.append(_problem(node, "self link", "points to itself"))
        elif t not in ids:
            out.append(_problem(node, "dangling target", f"points to {t}, which does not exist"))
    return out


def _overlaps(nodes: tuple[Node, ...]) -> list[Problem]:
    """One problem per pair of intersecting boxes (touching is fine).

    Circles are compared by their boxes too: two circles whose boxes overlap sit closer
    than a reader takes for separate things, even where the round outlines do not touch.
    """
    sized = [n for n in nodes if n.width > 0 and n.height > 0]
    inter = geometry.intersection_areas(geometry.boxes(sized))
    out = []
    for i, j in zip(*np.nonzero(np.triu(inter > 0)), strict=True):
        a, b = sized[i], sized[j]
        why = f"overlaps node {b.id} by {inter[i, j]:g} px²"
        out.append(_problem(a, "overlap", why))
    return out
