"""Readability of a diagram from its geometry: every metric on its own, and one 0..1 score.

Metrics (all computed from the parsed diagram, not the picture):

- overlap_count, overlap_area: pairs of node boxes that intersect, and the summed
  intersection area as a share of all node area.
- off_canvas_share: share of node area outside the 1000 x 600 canvas.
- edge_crossings: pairs of edges that properly cross and share no endpoint node (Purchase
  2002; Dunne et al. 2015). Edges run centre to centre, as straight segments: the border
  points depend on arrowhead details, and two centre-to-centre segments of edges with four
  distinct nodes cross where the visible parts do, unless the crossing hides under a node
  (an edge through a node, or overlapping nodes: both counted apart).
  k22_crossings of them lie inside a complete 2x2 connection (a->c, a->d, b->c, b->d),
  which every layered drawing has: an MLP with full connections between layers cannot
  avoid them, so they cost little; the rest are avoidable and cost much.
  crossable_pairs: edge pairs that share no endpoint node (Purchase's normaliser).
- edges_through_nodes: (edge, node) pairs where an edge runs through a third node (its box;
  for circles, the ellipse a reader sees).
- min_spacing_px, min_spacing: smallest gap between two node boxes in px, and the smallest
  gap relative to the smaller short side of its two nodes (at least SPACING_FLOOR_PX),
  capped at 1.
- label_fit: share of labelled nodes whose label is readable (engine/diagram/label_fit.py).
- fill_label_contrast: lowest WCAG 2.x contrast ratio (1..21) between a labelled node's fill
  and its label colour (black or white, whichever contrasts more); None without labels.
- line_contrast: lowest WCAG contrast of a node's line colour against the white canvas.
- dangling_targets, self_links: targets that name no node, or the node itself.

The combined `readability` is a product of one factor per defect, 1 - weight * severity,
each severity in 0..1 and 0 for a clean diagram, so a clean diagram scores 1.0 and every
defect lowers the score smoothly; a diagram with nothing to draw scores 0.0.

| defect           | severity (0 = clean, 1 = worst)                          | weight |
|------------------|----------------------------------------------------------|--------|
| overlaps         | 1 - exp(-overlap_count / 2)                              | 0.50   |
| overlap_area     | min(1, 2 * overlap_area)                                 | 0.50   |
| off_canvas       | min(1, 10 * off_canvas_share)                            | 0.70   |
| crossings        | 1 - exp(-(edge_crossings - k22_crossings) / 3)           | 0.40   |
| k22_crossings    | k22_crossings / crossable edge pairs                     | 0.15   |
| through_nodes    | 1 - exp(-edges_through_nodes / 2)                        | 0.40   |
| spacing          | max(0, 1 - min_spacing / COMFORT_SPACING)                | 0.30   |
| label_fit        | 1 - label_fit                                            | 0.40   |
| label_contrast   | clip((4.5 - fill_label_contrast) / 3.5, 0, 1)            | 0.30   |
| line_contrast    | clip((3 - line_contrast) / 2, 0, 1)                      | 0.40   |
| dangling         | 1 - exp(-dangling_targets)                               | 0.10   |
| self_links       | 1 - exp(-self_links)                                     | 0.10   |
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from engine.diagram import geometry
from engine.diagram.label_fit import fit_label
from engine.diagram.model import CANVAS_H, CANVAS_W, RGB, Diagram, Node

WEIGHTS: dict[str, float] = {
    # Two nodes on top of each other hide one of them: the worst a layout can do.
    "overlaps": 0.50,
    # ... and the more area they share, the more is hidden.
    "overlap_area": 0.50,
    # What lies off the canvas is cut off the picture; 10% of node area off is the worst.
    "off_canvas": 0.70,
    # Crossings a better layout would avoid: each one makes a reader re-trace an edge.
    "crossings": 0.40,
    # Crossings inside full 2x2 connections (dense MLP layers): unavoidable, so cheap.
    "k22_crossings": 0.15,
    # An edge through a node reads as two edges meeting at that node.
    "through_nodes": 0.40,
    # Cramped nodes blur together at Discord's preview size (about half the canvas size).
    "spacing": 0.30,
    # A label shrunk below legibility is as good as missing.
    "label_fit": 0.40,
    # Label text below WCAG AA (4.5:1) against its fill.
    "label_contrast": 0.30,
    # Lines and outlines below WCAG's non-text minimum (3:1) against the white canvas.
    "line_contrast": 0.40,
    # Targets that name no node, or the node itself: invisible, but the structure is off.
    "dangling": 0.10,
    "self_links": 0.10,
}
COMFORT_SPACING = 0.5  # gaps of half a node's short side or more are not cramped
# Gaps between tiny nodes are judged as if the nodes were this big: a 4 px gap is cramped
# at Discord's half-size preview however small the nodes are.
SPACING_FLOOR_PX = 16.0
WHITE: RGB = (255, 255, 255)
BLACK: RGB = (0, 0, 0)


@dataclass(frozen=True)
class Metrics:
    """One field per metric (module docstring); `readability` combines them."""

    nodes: int
    edges: int
    overlap_count: int
    overlap_area: float
    off_canvas_share: float
    edge_crossings: int
    k22_crossings: int
    crossable_pairs: int
    edges_through_nodes: int
    min_spacing_px: float | None
    min_spacing: float
    label_fit: float
    fill_label_contrast: float | None
    line_contrast: float
    dangling_targets: int
    self_links: int
    readability: float


def _linear(channel: int) -> float:
    """An sRGB channel (0-255) as linear light (WCAG 2.x)."""
    c = min(255, max(0, channel)) / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(rgb: RGB) -> float:
    """WCAG 2.x relative luminance of an sRGB colour (0 black .. 1 white)."""
    r, g, b = (_linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: RGB, b: RGB) -> float:
    """WCAG contrast ratio, 1 (same colour) to 21 (black on white)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def label_colour(fill: RGB) -> RGB:
    """Black or white, whichever contrasts more with `fill`."""
    return BLACK if contrast_ratio(fill, BLACK) >= contrast_ratio(fill, WHITE) else WHITE


def metrics(diagram: Diagram) -> Metrics:
    """Measure `diagram` (a 60-node MLP with 800 edges: about 10-20 ms on one core).

    Frames (group boxes, docs/format.md) are backgrounds: they hold nodes, they do not
    overlap them, so they are left out of every measure."""
    diagram = diagram.without_frames()
    nodes = [n for n in diagram.nodes if n.width > 0 and n.height > 0]
    b = geometry.boxes(nodes)
    area = geometry.areas(b)
    total_area = float(area.sum()) or 1.0
    inter = geometry.intersection_areas(b)
    gap_px = _min_gap(b)
    ids = {n.id for n in diagram.nodes}
    labelled = [n for n in nodes if n.label.strip()]
    fits = [fit_label(n.label, n.width, n.height, n.shape).fits for n in labelled]
    crossing, through, n_edges = _edge_metrics(diagram, nodes, b)
    m = Metrics(
        nodes=len(diagram.nodes),
        edges=n_edges,
        overlap_count=int(np.count_nonzero(np.triu(inter > 0))),
        overlap_area=min(1.0, float(np.triu(inter).sum()) / total_area),
        off_canvas_share=float(geometry.outside_areas(b, CANVAS_W, CANVAS_H).sum()) / total_area,
        edge_crossings=crossing.total,
        k22_crossings=crossing.in_k22,
        crossable_pairs=crossing.pairs,
        edges_through_nodes=through,
        min_spacing_px=gap_px,
        min_spacing=_min_relative_gap(b),
        label_fit=sum(fits) / len(fits) if fits else 1.0,
        fill_label_contrast=min(
            (contrast_ratio(n.fill, label_colour(n.fill)) for n in labelled), default=None
        ),
        line_contrast=min((contrast_ratio(n.line_color, WHITE) for n in nodes), default=21.0),
        dangling_targets=sum(t not in ids for n in diagram.nodes for t in n.targets),
        self_links=sum(t == n.id for n in diagram.nodes for t in n.targets),
        readability=0.0,
    )
    return replace(m, readability=readability(m) if nodes else 0.0)


def _min_gap(b: np.ndarray) -> float | None:
    if len(b) < 2:
        return None
    g = geometry.gaps(b)
    np.fill_diagonal(g, np.inf)
    return float(g.min())


def _min_relative_gap(b: np.ndarray) -> float:
    """Smallest gap relative to the two nodes' smaller short side (at least
    SPACING_FLOOR_PX), capped at 1."""
    if len(b) < 2:
        return 1.0
    short = np.maximum(np.minimum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]), SPACING_FLOOR_PX)
    rel = geometry.gaps(b) / np.minimum(short[:, None], short[None, :])
    np.fill_diagonal(rel, np.inf)
    return float(min(1.0, rel.min()))


def _edge_metrics(
    diagram: Diagram, nodes: list[Node], b: np.ndarray
) -> tuple[geometry.Crossings, int, int]:
    """(Crossings, edges through third nodes, edge count) for the drawable edges."""
    # By object: a node with a duplicate id still draws its own edges from where it is.
    index = {id(n): k for k, n in enumerate(nodes)}
    pairs = [
        (index[id(s)], index[id(t)])
        for s, t in diagram.edges()
        if id(s) in index and id(t) in index
    ]
    src = np.array([s for s, _ in pairs], dtype=int)
    dst = np.array([t for _, t in pairs], dtype=int)
    centres = np.column_stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2])
    p, q = centres[src].reshape(-1, 2), centres[dst].reshape(-1, 2)
    linked = np.zeros((len(nodes), len(nodes)), dtype=bool)
    linked[src, dst] = linked[dst, src] = True
    crossing = geometry.crossings(p, q, src, dst, linked)
    ellipse = np.array([n.shape == "circle" for n in nodes], dtype=bool)
    hits = geometry.segments_through(p, q, b, ellipse)
    hits[np.arange(len(pairs)), src] = False
    hits[np.arange(len(pairs)), dst] = False
    return crossing, int(hits.sum()), len(pairs)


def severities(m: Metrics) -> dict[str, float]:
    """Each defect's severity in 0..1 (0 = clean), keyed like WEIGHTS."""
    avoidable = m.edge_crossings - m.k22_crossings
    label_contrast = 21.0 if m.fill_label_contrast is None else m.fill_label_contrast
    return {
        "overlaps": 1 - math.exp(-m.overlap_count / 2),
        "overlap_area": min(1.0, 2 * m.overlap_area),
        "off_canvas": min(1.0, 10 * m.off_canvas_share),
        "crossings": 1 - math.exp(-avoidable / 3),
        "k22_crossings": m.k22_crossings / m.crossable_pairs if m.crossable_pairs else 0.0,
        "through_nodes": 1 - math.exp(-m.edges_through_nodes / 2),
        "spacing": max(0.0, 1 - m.min_spacing / COMFORT_SPACING),
        "label_fit": 1 - m.label_fit,
        "label_contrast": min(1.0, max(0.0, (4.5 - label_contrast) / 3.5)),
        "line_contrast": min(1.0, max(0.0, (3 - m.line_contrast) / 2)),
        "dangling": 1 - math.exp(-m.dangling_targets),
        "self_links": 1 - math.exp(-m.self_links),
    }


def readability(m: Metrics) -> float:
    """Product of 1 - weight * severity over all defects: 1.0 clean, lower per defect."""
    score = 1.0
    for name, severity in severities(m).items():
        score *= 1 - WEIGHTS[name] * severity
    return round(score, 4)
