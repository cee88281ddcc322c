"""Cheap handcrafted descriptors of a rendered diagram: what taste depends on, made explicit.

A small auto-encoder spends its few dozen numbers on where the ink is: its reconstructions
are grey blobs in the right places, with no fill colour, no corner shape and no dashes.
These descriptors name those attributes outright, in blocks (BLOCKS) that autoencoder.py
scales and knn.py compares one at a time. Ink is any pixel whose darkest channel is under
INK_BELOW. From the full-resolution render:

- fill (3) and stroke (3) colours. The fill is the most common *flat* ink colour (its 6 x 6
  px neighbourhood one colour within FLAT, which lines, outlines, label text and anti-aliased
  fringes never are) whose pixels form a solid of at least MIN_NODE px (an arrowhead is
  ~70): node interiors, whatever the palette. White when there is none (white fills). The
  line colour is read off the ink *outside* the node boxes (edges and arrowheads): drawn on
  the white canvas, every anti-aliased pixel mixes the line colour with white, so of those
  pixels the quarter farthest from white are the line colour itself, and their most common
  colour is it. (Reading it from "thin" ink instead took white label text's dark
  surroundings for lines and swapped fill and line on dark fills.) Each as CIELAB
  lightness L/100 and the hue direction in the a*b* plane scaled by chroma C/(C + 10):
  pastel families land on a circle of radius ~0.7, saturated ones further out, greys and
  white in the centre.
- shape (2), over the node blobs (connected solids of the fill colour, opened with a 5 x 5
  square so that neither lines, outlines nor a 1-px anti-aliased fringe of the fill's
  colour along a straight edge join or add any; holes, i.e. label text, filled in): median
  corner coverage (how much of the four corner squares, each a
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

from collections.abc import Iterable

import cv2
import numpy as np

from engine.scoring.preprocess import to_input

INK_BELOW = 245  # darkest channel under this = ink (not canvas white)
ORIENT_BINS = 4
MIN_INTERIOR = 10  # a fill colour seen on fewer (sampled) flat pixels is noise
MIN_NODE = 150  # px: the least solid of the fill colour that makes it the fill (arrowhead ~70)
FLAT = 12  # largest channel spread in a 5 x 5 window that is still one flat colour
CORE_SHARE = 0.5  # least share of a node solid's core in the fill colour (the rest: text)
FILL_CANDIDATES = 3  # most common flat colours tried as the fill, in order
FILL_TOLERANCE = 30  # |RGB difference| (summed) that tells the fill from the line colour
DEEPEST = 75  # percentile of distance from white above which line pixels are the line colour
CORNER = 0.2  # corner square side, share of a blob's shorter side
_INTERIOR = np.ones((5, 5), np.uint8)
_FLAT = np.ones((3, 3), np.uint8)  # at half resolution: a 6 x 6 px window
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
_SAMPLE = (slice(None, None, 2), slice(None, None, 2))  # every 4th pixel is plenty


def describe(image: np.ndarray, small: np.ndarray | None = None) -> np.ndarray:
    """An HxWx3 uint8 RGB render -> SIZE float32 descriptors (see the module docstring).

    small: its preprocessed input (3 x h x w, 0..1), when the caller already has it.
    """
    if small is None:
        small = to_input(image)
    ink = _ink(image)
    fill, blobs, boxes = nodes(image, ink)
    around = boxes if blobs else _boxes(_enclosed(ink))  # white nodes: their insides
    line = line_colour(image, cv2.subtract(ink, around), ink)
    thin = cv2.subtract(ink, cv2.dilate(cv2.erode(ink, _INTERIOR), _INTERIOR))
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


def nodes(image: np.ndarray, ink: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """The node fill (RGB), the node blobs (each its 0/1 mask cropped to its bounding box)
    and a 0/1 mask of their boxes grown by BOX_MARGIN px (outlines, anti-aliasing); white,
    none and an empty mask when no flat colour forms a node-sized solid (module docstring)."""
    small = image[_SAMPLE]  # half resolution: a 2-px line is still not flat, a node still is
    pixels = small[(_flat(small) & ink[_SAMPLE]) > 0]
    for colour in _common_colours(pixels, MIN_INTERIOR)[:FILL_CANDIDATES]:
        blobs, boxes = _solids(_near(image, colour) & ink)
        if blobs:
            return _exact(pixels, colour), blobs, _box_mask(ink.shape, boxes)
    return WHITE, [], np.zeros_like(ink)


def _solids(raw: np.ndarray) -> tuple[list[np.ndarray], list[tuple[int, int, int, int]]]:
    """The node-sized solids of a colour's 0/1 mask, and their boxes (x, y, w, h): its pieces
    with their holes (label text) filled in, opened with a 5 x 5 square (a 1-px fringe along
    a straight edge goes), of at least MIN_NODE px, each with its
    core (eroded once more) mostly the colour itself (an outline ring in the line colour,
    filled in, is white inside)."""
    filled = np.zeros_like(raw)
    contours, _ = cv2.findContours(raw, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    solid = cv2.morphologyEx(filled, cv2.MORPH_OPEN, _INTERIOR)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=8)
    blobs, boxes = [], []
    for i in np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= MIN_NODE) + 1:
        x, y, w, h = (int(v) for v in stats[i, :4])
        blob = labels[y : y + h, x : x + w] == i
        core = cv2.erode(blob.astype(np.uint8), _INTERIOR) > 0
        if raw[y : y + h, x : x + w][core].sum() >= CORE_SHARE * max(int(core.sum()), 1):
            blobs.append(blob)
            boxes.append((x, y, w, h))
    return blobs, boxes


def line_colour(image: np.ndarray, outside: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """The line colour from ink outside the node boxes (`outside`, 0/1), or from all ink when
    nothing is outside them: the most common colour of its pixels farthest from white."""
    pixels = image[_SAMPLE][outside[_SAMPLE] > 0]
    if len(pixels) < MIN_INTERIOR:
        pixels = image[_SAMPLE][ink[_SAMPLE] > 0]
    if not len(pixels):
        return np.zeros(3)
    depth = np.abs(pixels.astype(np.int64) - 255).sum(axis=1)
    deep = pixels[depth >= np.percentile(depth, DEEPEST)]
    return _exact(deep, _common_colours(deep)[0])


def _flat(image: np.ndarray) -> np.ndarray:
    """uint8 0/1 mask of pixels whose 3 x 3 neighbourhood spreads by at most FLAT a channel
    (cv2 min/max filters, not numpy: a channel-axis max is much slower)."""
    spread = cv2.subtract(cv2.dilate(image, _FLAT), cv2.erode(image, _FLAT))
    r, g, b = cv2.split(spread)
    return cv2.threshold(cv2.max(cv2.max(r, g), b), FLAT, 1, cv2.THRESH_BINARY_INV)[1]


def _exact(pixels: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """The median of the pixels near a quantised colour: the colour itself, unquantised."""
    near = np.abs(pixels.astype(np.int64) - colour).max(axis=1) <= FILL_TOLERANCE // 2
    return np.median(pixels[near], axis=0) if near.any() else colour.astype(np.float64)


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


def _boxes(mask: np.ndarray) -> np.ndarray:
    """The grown bounding boxes (see nodes()) of a mask's pieces of at least MIN_NODE px."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return _box_mask(mask.shape, stats[1:][stats[1:, cv2.CC_STAT_AREA] >= MIN_NODE, :4])


def _box_mask(shape: tuple[int, ...], boxes: Iterable) -> np.ndarray:
    """0/1 mask of boxes (x, y, w, h), each grown by BOX_MARGIN px on every side."""
    out = np.zeros(shape[:2], np.uint8)
    for x, y, w, h in boxes:
        out[
            max(0, y - BOX_MARGIN) : y + h + BOX_MARGIN, max(0, x - BOX_MARGIN) : x + w + BOX_MARGIN
        ] = 1
    return out


def _enclosed(ink: np.ndarray) -> np.ndarray:
    """0/1 mask of the canvas-white regions that ink encloses: white nodes' insides (and, in
    a network, gaps between crossing edges: only ink inside them is left out of the lines)."""
    _, labels = cv2.connectedComponents(1 - ink, connectivity=4)
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    inside = np.ones(labels.max() + 1, np.uint8)
    inside[edge] = 0  # regions that reach the canvas border are the canvas
    inside[0] = 0  # ink itself
    return inside[labels]


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
