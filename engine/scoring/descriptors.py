"""Cheap handcrafted descriptors of a rendered diagram: what taste depends on, made explicit.

A small auto-encoder spends its few dozen numbers on where the ink is: its reconstructions
are grey blobs in the right places, with no fill colour, no corner shape and no dashes.
These descriptors name those attributes outright, in blocks (BLOCKS) that autoencoder.py
scales and knn.py compares one at a time. Ink is any pixel whose darkest channel is under
INK_BELOW. From the full-resolution render:

- fill (3) and stroke (3) colours: the stroke colour is the most common colour of thin ink
  (what a 5 x 5 erosion removes: lines, outlines); the fill colour the most common colour
  deep inside inked regions (node interiors) that is not the stroke colour, else the stroke
  colour itself, white when nothing is deep inside ink (white fills). Each as CIELAB
  lightness L/100 and the hue direction in the a*b* plane scaled by chroma C/(C + 10):
  pastel families land on a circle of radius ~0.7, saturated ones further out, greys and
  white in the centre.
- shape (2), over the node blobs (connected pixels of the fill colour, so neither lines nor
  outlines join them): median corner coverage (how much of the four corner squares, each a
  fifth of the shorter side, is filled: 1 for rectangles, ~0.8 for round rectangles, ~0.2
  for circles/ellipses) and median extent (area / bounding box).
- dashes (1): log(1 + connected ink pieces): a diagram drawn with solid lines hangs
  together, a dashed one falls apart into every dash. (White-filled nodes with black labels
  add a piece per word. Arrowheads have no descriptor: at 2 px line width every cheap
  morphological test confused them with line bundles and node corners.)
- coverage (1): log share of the canvas covered by node fills (how dense it looks).
- layout (7): log node count, log median node area, median log aspect ratio of the nodes,
  and from the preprocessed input (preprocess.py, the pixels the networks see): ink share,
  mean gradient magnitude (edges and outlines), spread of ink along x and along y.
- direction (ORIENT_BINS): the square-rooted share of gradient energy in 4 directions over
  the thin ink outside the node boxes, i.e. the edges: direction right puts it on
  horizontal lines, direction down on vertical ones.

All values are plain floats; autoencoder.py standardises them with training-set statistics.
"""

from __future__ import annotations

import cv2
import numpy as np

from engine.scoring.preprocess import to_input

INK_BELOW = 245  # darkest channel under this = ink (not canvas white)
ORIENT_BINS = 4
MIN_INTERIOR = 10  # a fill colour seen on fewer (sampled) interior pixels is noise
MIN_BLOB = 30  # px: smaller fill-coloured specks are not nodes
FILL_TOLERANCE = 30  # |RGB difference| (summed) that tells the fill from the line colour
CORNER = 0.2  # corner square side, share of a blob's shorter side
_INTERIOR = np.ones((5, 5), np.uint8)
BOX_MARGIN = 6  # px
BLOCKS = {
    "fill": slice(0, 3),
    "stroke": slice(3, 6),
    "shape": slice(6, 8),
    "dashes": slice(8, 9),
    "coverage": slice(9, 10),
    "layout": slice(10, 17),
    "direction": slice(17, 17 + ORIENT_BINS),
}
SIZE = 17 + ORIENT_BINS
WHITE = np.array([255, 255, 255])


def describe(image: np.ndarray, small: np.ndarray | None = None) -> np.ndarray:
    """An HxWx3 uint8 RGB render -> SIZE float32 descriptors (see the module docstring).

    small: its preprocessed input (3 x h x w, 0..1), when the caller already has it.
    """
    if small is None:
        small = to_input(image)
    ink = _ink(image)
    interior = cv2.erode(ink, _INTERIOR)
    thin = cv2.subtract(ink, cv2.dilate(interior, _INTERIOR))  # lines, outlines, fringes
    sample = (slice(None, None, 2), slice(None, None, 2))  # every 4th pixel is plenty
    line = _common_colours(image[sample][thin[sample] > 0])
    line = line[0] if len(line) else np.zeros(3)
    inside = _common_colours(image[sample][interior[sample] > 0], MIN_INTERIOR)
    unlike_line = [c for c in inside if np.abs(c - line).sum() > FILL_TOLERANCE]
    fill = (unlike_line or inside or [WHITE])[0]  # nodes filled in the line colour: inside[0]
    near_fill = np.zeros_like(ink) if (fill == WHITE).all() else _near(image, fill) & ink
    blobs, boxes = _blobs(near_fill)
    lines = cv2.subtract(thin, boxes)  # what is thin outside the nodes: edges and arrowheads
    gray = small.mean(axis=0)
    out = np.concatenate(
        [
            lab(fill),
            lab(line),
            _shape(blobs),
            [_pieces(ink)],
            [np.log(sum(int(b.sum()) for b in blobs) / ink.size + 1e-3)],
            _layout(blobs, gray, small.min(axis=0) < INK_BELOW / 255.0),
            _line_directions(lines),
        ]
    )
    return out.astype(np.float32)


def _ink(image: np.ndarray) -> np.ndarray:
    """uint8 0/1 mask of ink pixels (cv2, not numpy: a channel-axis min is 20x slower)."""
    r, g, b = cv2.split(image)
    return cv2.threshold(cv2.min(cv2.min(r, g), b), INK_BELOW - 1, 1, cv2.THRESH_BINARY_INV)[1]


def _common_colours(pixels: np.ndarray, min_count: int = 1) -> list[np.ndarray]:
    """Colours of some pixels, most common first (quantised to 64 levels a channel), each
    seen at least min_count times."""
    if len(pixels) < min_count:
        return []
    q = pixels.astype(np.int64) >> 2
    values, counts = np.unique((q[:, 0] << 12) | (q[:, 1] << 6) | q[:, 2], return_counts=True)
    order = np.argsort(-counts, kind="stable")
    keep = values[order][counts[order] >= min_count][:8]
    return [(np.array([v >> 12, (v >> 6) & 63, v & 63]) << 2) + 2 for v in keep]


def _near(image: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """uint8 0/1 mask of pixels within FILL_TOLERANCE / 2 of a colour on every channel."""
    low = np.clip(colour - FILL_TOLERANCE // 2, 0, 255).astype(np.uint8)
    high = np.clip(colour + FILL_TOLERANCE // 2, 0, 255).astype(np.uint8)
    return cv2.inRange(image, low, high) // 255


def lab(rgb: np.ndarray) -> np.ndarray:
    """L/100 and the chroma-scaled hue direction (see the module docstring)."""
    pixel = np.clip(np.round(rgb), 0, 255).astype(np.uint8).reshape(1, 1, 3)
    lab = cv2.cvtColor(pixel, cv2.COLOR_RGB2LAB)[0, 0].astype(np.float64)
    a, b = lab[1] - 128.0, lab[2] - 128.0
    scale = 1.0 / (np.hypot(a, b) + 10.0)
    return np.array([lab[0] / 255.0, a * scale, b * scale])


def _blobs(mask: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Per node blob its own mask cropped to its bounding box; and a 0/1 mask of those boxes,
    grown by a few pixels to cover outlines and anti-aliasing (and any label text)."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    boxes = np.zeros_like(mask)
    out = []
    for i in range(1, n):
        x, y, w, h, area = stats[i]
        if area >= MIN_BLOB:
            out.append(labels[y : y + h, x : x + w] == i)
            boxes[
                max(0, y - BOX_MARGIN) : y + h + BOX_MARGIN,
                max(0, x - BOX_MARGIN) : x + w + BOX_MARGIN,
            ] = 1
    return out, boxes


def _shape(blobs: list[np.ndarray]) -> np.ndarray:
    if not blobs:
        return np.array([1.0, 1.0])  # white fills: nothing to measure; call them boxes
    corners, extents = [], []
    for b in blobs:
        c = max(1, round(CORNER * min(b.shape)))
        corners.append(
            (b[:c, :c].mean() + b[:c, -c:].mean() + b[-c:, :c].mean() + b[-c:, -c:].mean()) / 4
        )
        extents.append(b.mean())
    return np.array([np.median(corners), np.median(extents)])


def _pieces(ink: np.ndarray) -> float:
    """log(1 + connected ink pieces): solid diagrams hang together, dashes fall apart."""
    return float(np.log1p(cv2.connectedComponents(ink, connectivity=8)[0] - 1))


def _layout(blobs: list[np.ndarray], gray: np.ndarray, ink: np.ndarray) -> np.ndarray:
    gx, gy = _gradients(gray)
    ys, xs = np.nonzero(ink)
    h, w = ink.shape
    spread = (xs.std() / w, ys.std() / h) if len(xs) > 1 else (0.0, 0.0)
    area = np.median([b.sum() for b in blobs]) if blobs else 0.0
    aspect = np.median([np.log(b.shape[1] / b.shape[0]) for b in blobs]) if blobs else 0.0
    return np.array(
        [np.log1p(len(blobs)), np.log1p(area), aspect, ink.mean(), np.hypot(gx, gy).mean(), *spread]
    )


def _gradients(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    return gx, gy


def _line_directions(lines: np.ndarray) -> np.ndarray:
    """Square-rooted share of the lines' gradient energy in ORIENT_BINS directions."""
    gx, gy = _gradients(lines.astype(np.float32))
    moving = (gx != 0) | (gy != 0)  # the lines are a few % of the canvas: skip the rest
    gx, gy = gx[moving], gy[moving]
    mag = np.hypot(gx, gy)
    angle = np.mod(np.arctan2(gy, gx) + np.pi / (2 * ORIENT_BINS), np.pi)  # bins centred on 0
    bins = np.minimum((angle / np.pi * ORIENT_BINS).astype(int), ORIENT_BINS - 1)
    hist = np.bincount(bins, weights=mag, minlength=ORIENT_BINS)
    return np.sqrt(hist / max(hist.sum(), 1e-6))
