"""Boxes and straight segments on the canvas, vectorised with numpy.

Validation, repair and the readability metrics all ask the same questions (do two boxes
overlap, how far apart are they, does an edge cross another or run through a node), so the
answers live here once. Everything is pure arithmetic on arrays; nothing knows about text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.diagram.model import Node

# A segment that only grazes a node (within this many px of its outline) does not count as
# passing through it: at anti-aliased line widths the two do not visibly merge.
GRAZE_PX = 1.0
# Segments are compared in blocks of this many rows: memory stays at a few MB for thousands
# of edges, and small blocks keep the sweep along x (see `crossings`) tight.
BLOCK = 128


def boxes(nodes: Sequence[Node]) -> np.ndarray:
    """(N, 4) float array of x0, y0, x1, y1."""
    return np.array([n.box for n in nodes], dtype=float).reshape(len(nodes), 4)


def areas(b: np.ndarray) -> np.ndarray:
    """Box areas; a box with a non-positive side has area 0."""
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def axis_overlaps(b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, N) overlap lengths along x and along y (negative: the gap between the boxes)."""
    ox = np.minimum(b[:, None, 2], b[None, :, 2]) - np.maximum(b[:, None, 0], b[None, :, 0])
    oy = np.minimum(b[:, None, 3], b[None, :, 3]) - np.maximum(b[:, None, 1], b[None, :, 1])
    return ox, oy


def intersection_areas(b: np.ndarray) -> np.ndarray:
    """(N, N) area shared by each pair of boxes; the diagonal is 0."""
    ox, oy = axis_overlaps(b)
    inter = np.clip(ox, 0, None) * np.clip(oy, 0, None)
    np.fill_diagonal(inter, 0.0)
    return inter


def gaps(b: np.ndarray) -> np.ndarray:
    """(N, N) shortest distance between each pair of boxes (0 when they touch or overlap)."""
    ox, oy = axis_overlaps(b)
    return np.hypot(np.clip(-ox, 0, None), np.clip(-oy, 0, None))


def outside_areas(b: np.ndarray, width: float, height: float) -> np.ndarray:
    """(N,) area of each box that lies outside the canvas [0, width] x [0, height]."""
    inside_w = np.clip(np.minimum(b[:, 2], width) - np.maximum(b[:, 0], 0), 0, None)
    inside_h = np.clip(np.minimum(b[:, 3], height) - np.maximum(b[:, 1], 0), 0, None)
    return areas(b) - inside_w * inside_h


@dataclass(frozen=True)
class Crossings:
    """total: proper crossings between segments that share no endpoint node;
    in_k22: those of them inside a complete 2x2 connection (see `crossings`);
    pairs: segment pairs that share no endpoint node, i.e. the pairs that could cross."""

    total: int
    in_k22: int
    pairs: int


def _spans_overlap(lo: np.ndarray, hi: np.ndarray, lo2: np.ndarray, hi2: np.ndarray) -> np.ndarray:
    """[i, j]: the open extents of row i and column j meet (a necessary test for crossing)."""
    return (lo[:, None] < hi2[None, :]) & (lo2[None, :] < hi[:, None])


def _lines(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """(E, 3) coefficients (a, b, c) of the line through p and q: a x + b y + c = 0.

    For whole-pixel coordinates every side value below is an exact integer in float64,
    so touching and collinear cases come out as exactly 0.
    """
    d = q - p
    return np.column_stack([-d[:, 1], d[:, 0], d[:, 1] * p[:, 0] - d[:, 0] * p[:, 1]])


def _pairs_apart(src: np.ndarray, dst: np.ndarray) -> int:
    """Unordered pairs of segments that share no endpoint node (self-loops excluded).

    All pairs, less those meeting at a node (deg choose 2 per node), plus the pairs joining
    the same two nodes, which that subtraction removed twice.
    """
    n = len(src)
    ends = np.concatenate([src, dst])
    degree = np.bincount(ends)
    a, b = np.minimum(src, dst), np.maximum(src, dst)
    _, parallel = np.unique(np.stack([a, b]), axis=1, return_counts=True)
    meet = int((degree * (degree - 1) // 2).sum())
    return n * (n - 1) // 2 - meet + int((parallel * (parallel - 1) // 2).sum())


def crossings(
    p: np.ndarray, q: np.ndarray, src: np.ndarray, dst: np.ndarray, linked: np.ndarray
) -> Crossings:
    """Count proper crossings among segments p[k] -> q[k] joining nodes src[k] and dst[k].

    Segments sharing an endpoint node never count (they meet by design; Purchase 2002),
    nor do touching or collinear ones. `linked` is the (N, N) symmetric adjacency of the
    nodes: a crossing of a-c with b-d is `in_k22` when a-d and b-c are edges too. Drawn in
    layers (a, b in one column, c, d in the next), one of those two pairs must cross, so
    such crossings come with a full bipartite layer and cannot be laid out away.
    """
    # Sweep along x: sorted by their left ends, a block of segments can only cross those
    # that start left of the block's rightmost end (a crossing lies inside both x-extents).
    order = np.argsort(np.minimum(p[:, 0], q[:, 0]), kind="stable")
    p, q, src, dst = p[order], q[order], src[order], dst[order]
    left, right = np.minimum(p[:, 0], q[:, 0]), np.maximum(p[:, 0], q[:, 0])
    n = len(p)
    lines = _lines(p, q)
    ph, qh = np.column_stack([p, np.ones(n)]), np.column_stack([q, np.ones(n)])
    total = k22 = 0
    pairs = _pairs_apart(src, dst)
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        end = max(stop, int(np.searchsorted(left, right[start:stop].max(), side="left")))
        r, c = slice(start, stop), slice(start, end)  # columns from the block's first row on
        s, d = src[r, None], dst[r, None]
        apart = (s != src[c]) & (s != dst[c]) & (d != src[c]) & (d != dst[c])
        apart &= np.arange(start, stop)[:, None] < np.arange(start, end)[None, :]
        # Row segment's ends on opposite sides of the column's line, and vice versa.
        cross = (lines[r] @ ph[c].T) * (lines[r] @ qh[c].T) < 0
        cross &= (ph[r] @ lines[c].T) * (qh[r] @ lines[c].T) < 0
        cross &= apart
        i, j = np.nonzero(cross)
        i, j = i + start, j + start
        total += len(i)
        k22 += int(np.count_nonzero(linked[src[i], dst[j]] & linked[dst[i], src[j]]))
    return Crossings(total, k22, pairs)


def segments_through(
    p: np.ndarray, q: np.ndarray, b: np.ndarray, ellipse: np.ndarray
) -> np.ndarray:
    """(E, N): segment p[k] -> q[k] runs through the inside of node box b[i].

    Nodes marked in `ellipse` are tested against the ellipse inscribed in their box (what
    a circle node looks like); others against the box. Outlines shrink by GRAZE_PX.
    """
    lo, hi = b[:, :2] + GRAZE_PX, b[:, 2:] - GRAZE_PX
    seg_lo, seg_hi = np.minimum(p, q), np.maximum(p, q)
    near = _spans_overlap(seg_lo[:, 0], seg_hi[:, 0], lo[:, 0], hi[:, 0])
    near &= _spans_overlap(seg_lo[:, 1], seg_hi[:, 1], lo[:, 1], hi[:, 1])
    out = np.zeros(near.shape, dtype=bool)
    for round_, test in ((True, _through_ellipse), (False, _through_box)):
        k, i = np.nonzero(near & (ellipse[None, :] == round_))
        hit = test(p[k], q[k], lo[i], hi[i])
        out[k[hit], i[hit]] = True
    return out


def any_through(
    segments: Sequence[tuple[tuple[float, float], tuple[float, float]]],
    b: np.ndarray,
    ellipse: np.ndarray | None = None,
) -> bool:
    """Does any of the segments (p, q) run through one of the boxes b (`segments_through`;
    all boxes, none ellipses unless `ellipse` says)? For a layout testing a route."""
    if not len(segments) or not len(b):
        return False
    p = np.array([seg[0] for seg in segments], float)
    q = np.array([seg[1] for seg in segments], float)
    round_ = np.zeros(len(b), bool) if ellipse is None else ellipse
    return bool(segments_through(p, q, b, round_).any())


def _through_box(p: np.ndarray, q: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Row by row: segment p -> q meets the open box lo..hi (Liang-Barsky clipping)."""
    d = q - p
    flat = d == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        t0, t1 = (lo - p) / d, (hi - p) / d
    inside = (p > lo) & (p < hi)
    enter = np.where(flat, np.where(inside, -np.inf, np.inf), np.minimum(t0, t1))
    leave = np.where(flat, np.where(inside, np.inf, -np.inf), np.maximum(t0, t1))
    return np.maximum(enter.max(axis=1), 0.0) < np.minimum(leave.min(axis=1), 1.0)


def _through_ellipse(p: np.ndarray, q: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Row by row: segment p -> q meets the open ellipse inscribed in the box lo..hi."""
    centre, radius = (lo + hi) / 2, np.clip((hi - lo) / 2, 1e-9, None)
    u, v = (p - centre) / radius, (q - centre) / radius  # the ellipse becomes the unit circle
    w = v - u
    t = np.clip(-(u * w).sum(axis=1) / np.clip((w * w).sum(axis=1), 1e-12, None), 0.0, 1.0)
    nearest = u + t[:, None] * w
    return (nearest * nearest).sum(axis=1) < 1.0
