"""Controlled bad variants of good diagrams, for the readability CNN and rejected ORPO samples.

Each kind breaks one thing a reader stumbles over, and only that where it can:
- overlap: a few nodes moved onto a neighbour;
- off canvas: a node pushed partly or wholly over an edge of the canvas;
- crossings: two nodes of different layers or ranks swap places, so edges cross and cut
  through nodes;
- low contrast: lines and outlines in a pale colour on the white canvas (the renderer picks
  black or white label text, so a fill alone cannot make labels unreadable);
- cramped: the layout squeezed toward its centre until nodes almost touch;
- labels: nodes shrunk (or labels lengthened) until the text no longer fits.
"""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np

from engine.diagram import geometry
from engine.diagram.metrics import metrics
from engine.diagram.model import CANVAS_H, CANVAS_W, Diagram, Node

KINDS = ("overlap", "off canvas", "crossings", "low contrast", "cramped", "labels")
PALE_LINES = ((200, 200, 200), (215, 225, 235), (235, 220, 200), (190, 230, 190), (230, 230, 230))
LONG_LABELS = ("hidden neuron unit", "intermediate representation", "fully connected node")


def degrade(diagram: Diagram, kind: str, rng: random.Random) -> Diagram:
    """A variant of `diagram` with one kind of defect (see the module docstring)."""
    if kind not in KINDS:
        raise ValueError(f"unknown degradation {kind!r}; one of {', '.join(KINDS)}")
    if not diagram.nodes:
        return diagram
    return {
        "overlap": _overlap,
        "off canvas": _off_canvas,
        "crossings": _crossings,
        "low contrast": _low_contrast,
        "cramped": _cramped,
        "labels": _labels,
    }[kind](diagram, rng)


def _with(diagram: Diagram, changed: dict[int, Node]) -> Diagram:
    """The diagram with the nodes at these positions replaced."""
    return Diagram(tuple(changed.get(i, n) for i, n in enumerate(diagram.nodes)))


def _overlap(diagram: Diagram, rng: random.Random) -> Diagram:
    """Move 1-3 nodes onto other (unmoved) nodes, off their centre by 10-50% of their size."""
    nodes = diagram.nodes
    if len(nodes) < 2:
        return _off_canvas(diagram, rng)
    k = rng.randint(1, min(3, len(nodes) // 2))
    picked = rng.sample(range(len(nodes)), 2 * k)
    changed: dict[int, Node] = {}
    for i, j in zip(picked[:k], picked[k:], strict=True):
        a, b = nodes[i], nodes[j]
        share = rng.uniform(0.1, 0.5)
        x = b.x + round(rng.choice((-1, 1)) * share * b.width)
        y = b.y + round(rng.choice((-1, 1)) * share * b.height)
        changed[i] = a.moved(x=x, y=y)
    return _with(diagram, changed)


def _off_canvas(diagram: Diagram, rng: random.Random) -> Diagram:
    changed: dict[int, Node] = {}
    for i in rng.sample(range(len(diagram.nodes)), min(len(diagram.nodes), rng.randint(1, 2))):
        n = diagram.nodes[i]
        out = rng.uniform(0.3, 1.5)  # how far past the border, as a share of the node's size
        side = rng.choice(("left", "right", "top", "bottom"))
        if side == "left":
            n = n.moved(x=round(n.width / 2 - out * n.width))
        elif side == "right":
            n = n.moved(x=round(CANVAS_W - n.width / 2 + out * n.width))
        elif side == "top":
            n = n.moved(y=round(n.height / 2 - out * n.height))
        else:
            n = n.moved(y=round(CANVAS_H - n.height / 2 + out * n.height))
        changed[i] = n
    return _with(diagram, changed)


def _crossings(diagram: Diagram, rng: random.Random) -> Diagram:
    """Swap two nodes that sit in different columns and rows; keep the worst of a few tries."""
    nodes = diagram.nodes
    pairs = [
        (i, j)
        for i in range(len(nodes))
        for j in range(i + 1, len(nodes))
        if nodes[i].x != nodes[j].x and nodes[i].y != nodes[j].y
    ]
    if not pairs:
        return _overlap(diagram, rng)
    best, best_score = diagram, metrics(diagram).readability
    for i, j in rng.sample(pairs, min(4, len(pairs))):
        a, b = nodes[i], nodes[j]
        swapped = _with(diagram, {i: a.moved(x=b.x, y=b.y), j: b.moved(x=a.x, y=a.y)})
        score = metrics(swapped).readability
        if score < best_score:
            best, best_score = swapped, score
    return best if best is not diagram else _overlap(diagram, rng)


def _low_contrast(diagram: Diagram, rng: random.Random) -> Diagram:
    pale = rng.choice(PALE_LINES)
    return Diagram(tuple(n.moved(line_color=pale) for n in diagram.nodes))


def _cramped(diagram: Diagram, rng: random.Random) -> Diagram:
    """Pull every centre toward the middle until the closest pair is 2-20% of a node apart."""
    if len(diagram.nodes) < 2:
        return _labels(diagram, rng)
    cx = sum(n.x for n in diagram.nodes) / len(diagram.nodes)
    cy = sum(n.y for n in diagram.nodes) / len(diagram.nodes)
    target = rng.uniform(0.02, 0.2)

    def squeezed(s: float) -> Diagram:
        return Diagram(
            tuple(
                n.moved(x=round(cx + (n.x - cx) * s), y=round(cy + (n.y - cy) * s))
                for n in diagram.nodes
            )
        )

    lo, hi = 0.0, 1.0  # squeeze factor: 1 = as it was; keep the smallest one clear of target
    for _ in range(14):
        mid = (lo + hi) / 2
        if _closest(squeezed(mid)) < target:
            lo = mid
        else:
            hi = mid
    result = squeezed(hi)
    if metrics(result).readability >= metrics(diagram).readability:
        return _labels(diagram, rng)
    return result


def _closest(diagram: Diagram) -> float:
    """Smallest gap between two boxes relative to the smaller short side (0 when touching)."""
    b = geometry.boxes(diagram.nodes)
    short = np.minimum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    rel = geometry.gaps(b) / np.minimum(short[:, None], short[None, :])
    np.fill_diagonal(rel, np.inf)
    return float(rel.min())


def _labels(diagram: Diagram, rng: random.Random) -> Diagram:
    """Shrink labelled nodes until their labels no longer fit, or give unlabelled ones long
    labels."""
    if not any(n.label.strip() for n in diagram.nodes):
        label = rng.choice(LONG_LABELS)
        return Diagram(tuple(replace(n, label=label) for n in diagram.nodes))
    share = rng.uniform(0.4, 0.6)
    fit = metrics(diagram).label_fit
    while True:
        shrunk = Diagram(
            tuple(
                n.moved(
                    width=max(4, round(n.width * share)), height=max(4, round(n.height * share))
                )
                for n in diagram.nodes
            )
        )
        if metrics(shrunk).label_fit < fit or share < 0.05:
            return shrunk
        share *= 0.7
