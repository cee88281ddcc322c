"""Draw a Diagram with OpenCV: edges first, then nodes, then labels; PNG out.

Pure: every call paints a fresh canvas and the same diagram always gives the same bytes;
the only things kept between calls are caches of pure functions (outline polygons, label
fits). Drawing happens at the canvas size, anti-aliased with sub-pixel coordinates (no
supersampling): about 3 ms for a 15-node network, plus about 5 ms of PNG encoding.

Invalid input is drawn as well as it can be, never refused: validation reports it.
Dangling targets and self-links are skipped, unknown shapes are drawn as rectangles,
unknown line styles as plain lines, colours are clamped to 0-255, nodes off the canvas
are clipped.
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

from engine.diagram.label_fit import (
    CAP,
    FONT,
    THICKNESS,
    drawable,
    fit_label,
    lines_at,
    tab_width,
    text_block,
    text_width,
)
from engine.diagram.metrics import label_colour
from engine.diagram.model import CANVAS_H, CANVAS_W, RGB, TITLE_H, Diagram, Node, is_bend

SHIFT = 4  # OpenCV fixed-point bits: coordinates are drawn to 1/16 px
ONE = 1 << SHIFT
LINE_W = 2  # edge thickness, px
BORDER_W = 2  # node border thickness, px, centred on the outline
HEAD_LEN, HEAD_HALF_W = 13.0, 5.5  # arrowhead, px ...
HEAD_SHARE, MIN_HEAD_LEN = 0.3, 7.0  # ... at most this share of the target's short side
DASH, GAP = 9.0, 6.0  # dashed lines, px
CORNER = 0.25  # round rectangle corner radius, share of the shorter side ...
MAX_CORNER = 16.0  # ... at most this many px
# An ellipse is drawn as a polygon with a vertex every ~ELLIPSE_STEP px of its perimeter:
# off the true curve by < 0.15 px, and a thick anti-aliased outline costs per vertex.
ELLIPSE_STEP, ELLIPSE_MIN_POINTS, ELLIPSE_MAX_POINTS = 5.0, 16, 128
FAR = 5_000_000  # centres and sizes are clamped to this many px, so that 16 * coordinate fits
# int32 (the parser already refuses numbers above 1e6)
# PNG: diagrams are flat colour on white, so PNG's per-row filters buy little size and the
# adaptive filter choice costs more time than the compression; zlib levels above 2 cost time
# for a few % (`diagrammer bench render` prints the trade-off).
PREVIEW_MARGIN = 16  # px of white kept around the drawing in a preview (preview_png)
INK_BELOW = 250  # a pixel with a channel under this is drawing, not the white canvas
PNG_LEVEL = 1
PNG_PARAMS = [
    cv2.IMWRITE_PNG_COMPRESSION, PNG_LEVEL,
    cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE,
]  # fmt: skip


def render(diagram: Diagram) -> bytes:
    """The diagram as PNG bytes (CANVAS_W x CANVAS_H, 8-bit colour)."""
    return _encode(_draw(diagram))


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an RGB render (render_array's), the same bytes render() gives: a diagram
    drawn once for scoring is not drawn again for its picture."""
    return _encode(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


def _encode(bgr: np.ndarray) -> bytes:
    ok, png = cv2.imencode(".png", bgr, PNG_PARAMS)
    if not ok:  # pragma: no cover - encoding a plain uint8 image does not fail
        raise RuntimeError("PNG encoding failed")
    return png.tobytes()


def preview_png(png: bytes, margin: int = PREVIEW_MARGIN) -> bytes:
    """The PNG to post where it is shown small (Discord previews images about 400 px
    wide): the render cropped to its ink plus `margin` px of white on every side (within the
    canvas), so that a drawing that leaves part of the canvas empty is shown larger. Only
    the picture changes: the node list keeps its 1000 x 600 coordinates, and the stored
    render stays whole (the scorers read whole renders). Bytes that are not a PNG, or a
    render without ink, come back as they are."""
    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        return png
    b, g, r = cv2.split(img)
    darkest = cv2.min(cv2.min(b, g), r)  # numpy's min over the channels is ~50x slower
    x, y, w, h = cv2.boundingRect(cv2.compare(darkest, INK_BELOW, cv2.CMP_LT))
    if not w:
        return png
    y0, y1 = max(0, y - margin), min(img.shape[0], y + h + margin)
    x0, x1 = max(0, x - margin), min(img.shape[1], x + w + margin)
    ok, out = cv2.imencode(".png", np.ascontiguousarray(img[y0:y1, x0:x1]), PNG_PARAMS)
    return out.tobytes() if ok else png


def render_array(diagram: Diagram) -> np.ndarray:
    """The diagram as a CANVAS_H x CANVAS_W x 3 uint8 array in RGB channel order."""
    return cv2.cvtColor(_draw(diagram), cv2.COLOR_BGR2RGB)


def _draw(diagram: Diagram) -> np.ndarray:
    """Paint a fresh white canvas (BGR, OpenCV's order)."""
    img = np.full((CANVAS_H, CANVAS_W, 3), 255, np.uint8)
    diagram = tame(diagram)
    frames = diagram.frames()
    nodes = drawn_nodes(diagram)
    labels = label_lines(nodes, frames)
    drawn = list(zip(nodes, labels, strict=True))
    for node, (lines, scale) in drawn:  # frames behind everything
        if node.id in frames:
            _draw_node(img, node)
            _draw_label(img, title_strip(node), lines, scale)
    for source, target in diagram.edges():
        _draw_edge(img, source, target)
    for node, (lines, scale) in drawn:
        if node.id not in frames:
            _draw_node(img, node)
            if lines:
                _draw_label(img, node, lines, scale)
    return img


# --- what is drawn (svg.py draws the same) ---------------------------------------------------


def drawn_nodes(diagram: Diagram) -> list[Node]:
    """The nodes that get drawn, in drawing order: those with an area."""
    return [n for n in diagram.nodes if n.width > 0 and n.height > 0]


def title_strip(frame: Node) -> Node:
    """Where a frame's title is drawn: a tab at its top left, TITLE_H high and as wide as
    the title needs (the whole top when it takes two lines), so that edges entering the
    frame from the top can pass beside it (the layout keeps them clear of the tab)."""
    height = min(TITLE_H, frame.height)
    top, left = frame.y - frame.height / 2, frame.x - frame.width / 2
    width = tab_width(frame.label, frame.width, height)
    return frame.moved(
        x=math.floor(left + width / 2), y=round(top + height / 2), width=width,
        height=height, shape="rectangle",
    )  # fmt: skip


def label_lines(
    nodes: list[Node], frames: set[int] | frozenset[int] = frozenset()
) -> list[tuple[tuple[str, ...], float]]:
    """Each node's label as drawn: (lines, font scale); no lines for no label. A frame's
    label is fitted in its title strip."""
    nodes = [title_strip(n) if n.id in frames else n for n in nodes]
    fits = [fit_label(n.label, n.width, n.height, n.shape) for n in nodes]
    # One text size for the whole diagram reads calmer than sizes that jump from node to
    # node: every label that fits is drawn at the smallest scale any of them needed.
    common = min((f.scale for f in fits if f.fits and f.lines), default=0.0)
    out = []
    for node, fit in zip(nodes, fits, strict=True):
        if fit.fits and fit.lines and common < fit.scale:
            # Smaller than its own best: one line may now do where two were needed.
            lines = lines_at(node.label, node.width, node.height, node.shape, common)
            out.append((lines or fit.lines, common))
        else:
            out.append((fit.lines, fit.scale))
    return out


def baselines(node: Node, n_lines: int, scale: float) -> list[float]:
    """The y of each line's baseline: the block runs from the first capital's top to the
    last descender, centred on the node."""
    height, pitch = text_block(n_lines, scale)
    first = node.y - height / 2 + CAP * scale
    return [first + i * pitch for i in range(n_lines)]


# --- geometry -------------------------------------------------------------------------------


def corner_radius(width: float, height: float) -> float:
    """A round rectangle's corner radius, px."""
    return min(MAX_CORNER, CORNER * min(width, height))


def border_distance(node: Node, dx: float, dy: float) -> float:
    """How far from the node's centre its outline lies in direction (dx, dy) (a unit vector)."""
    a, b = node.width / 2, node.height / 2
    if node.shape == "circle":
        return 1 / math.hypot(dx / a, dy / b)
    t = min(a / abs(dx) if dx else math.inf, b / abs(dy) if dy else math.inf)
    if node.shape != "round rectangle":
        return t
    r = corner_radius(node.width, node.height)
    px, py = t * dx, t * dy
    if abs(px) <= a - r or abs(py) <= b - r:
        return t  # the ray leaves through a straight side
    # Through a corner: the far intersection with that corner's circle.
    cx, cy = math.copysign(a - r, px), math.copysign(b - r, py)
    along = dx * cx + dy * cy
    return along + math.sqrt(max(0.0, r * r - (cx * cx + cy * cy - along * along)))


@lru_cache(maxsize=1024)
def _outline(shape: str, width: int, height: int) -> np.ndarray:
    """The outline of a node centred on (0, 0) as a closed polygon of fixed-point points."""
    a, b = width / 2, height / 2
    if shape == "circle":
        perimeter = math.pi * (3 * (a + b) - math.sqrt((3 * a + b) * (a + 3 * b)))  # Ramanujan
        n = round(perimeter / ELLIPSE_STEP / 4) * 4  # a multiple of 4 keeps it symmetric
        n = min(ELLIPSE_MAX_POINTS, max(ELLIPSE_MIN_POINTS, n))
        angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
        pts = np.stack([a * np.cos(angles), b * np.sin(angles)], axis=1)
    elif shape == "round rectangle":
        r = corner_radius(width, height)
        quarter = np.linspace(0, np.pi / 2, 7)
        arcs = []
        for i, (sx, sy) in enumerate(((1, 1), (-1, 1), (-1, -1), (1, -1))):
            ang = quarter + i * np.pi / 2
            arc = np.stack([r * np.cos(ang), r * np.sin(ang)], axis=1)
            arcs.append(arc + [sx * (a - r), sy * (b - r)])
        pts = np.concatenate(arcs)
    else:
        pts = np.array([[-a, -b], [a, -b], [a, b], [-a, b]], float)
    out = np.round(pts * ONE).astype(np.int32)
    out.flags.writeable = False  # shared by every call through the cache
    return out


def tame(diagram: Diagram) -> Diagram:
    """The diagram with every node's centre and size within FAR (see _tame_node)."""
    return Diagram(tuple(_tame_node(n) for n in diagram.nodes))


def _tame_node(node: Node) -> Node:
    """The node with its centre and size within FAR, so that fixed-point maths fits int32."""
    x, y = (min(FAR, max(-FAR, v)) for v in (node.x, node.y))
    w, h = (min(FAR, v) for v in (node.width, node.height))
    if (x, y, w, h) == (node.x, node.y, node.width, node.height):
        return node
    return node.moved(x=x, y=y, width=w, height=h)


def _fixed(x: float, y: float) -> tuple[int, int]:
    """A point in OpenCV's fixed-point coordinates (pixel centres at whole numbers)."""
    return round(x * ONE), round(y * ONE)


def clamped(rgb: RGB) -> RGB:
    """The colour with each channel a whole number in 0-255."""
    r, g, b = (min(255, max(0, int(c))) for c in rgb)
    return (r, g, b)


def _bgr(rgb: RGB) -> tuple[int, int, int]:
    r, g, b = clamped(rgb)
    return (b, g, r)


# --- edges ----------------------------------------------------------------------------------

Point = tuple[float, float]


def edge_span(source: Node, target: Node) -> tuple[Point, Point, float] | None:
    """(start, unit direction, length) of the edge's line; None when nothing of it shows."""
    if min(source.width, source.height, target.width, target.height) <= 0:
        return None
    dx, dy = target.x - source.x, target.y - source.y
    dist = math.hypot(dx, dy)
    if dist == 0:
        return None
    ux, uy = dx / dist, dy / dist
    # From the outer edge of one border to the outer edge of the other, so that nothing of
    # the line is hidden under the nodes drawn on top and the arrow's tip touches the border.
    start = border_distance(source, ux, uy) + BORDER_W / 2
    end = dist - border_distance(target, -ux, -uy) - BORDER_W / 2
    if end - start < 1:
        return None  # the nodes touch or overlap: nothing between them to draw
    return (source.x + ux * start, source.y + uy * start), (ux, uy), end - start


def has_head(source: Node, target: Node) -> bool:
    """Whether the edge ends in an arrowhead: a bend point is a corner of it, not its end."""
    return source.line_style == "solid arrow" and not is_bend(target)


def head_length(target: Node) -> float:
    """The arrowhead's length into `target`, px."""
    # Small targets get smaller heads, or the heads into one node merge into a blot.
    return min(HEAD_LEN, max(MIN_HEAD_LEN, HEAD_SHARE * min(target.width, target.height)))


def arrow_parts(p0: Point, u: Point, length: float, head: float) -> tuple[float, list[Point]]:
    """(how far along the ray the shaft runs, 0 for none; the head's tip and base corners)
    of an arrow whose head (`head` px long at most) has its tip `length` along the ray."""
    head = min(head, length)
    # Stop the shaft inside the head so its round cap cannot poke past the tip.
    shaft = length - head / 2 if length > head else 0.0
    tip = (p0[0] + u[0] * length, p0[1] + u[1] * length)
    bx, by = tip[0] - u[0] * head, tip[1] - u[1] * head
    half_w = head * HEAD_HALF_W / HEAD_LEN
    nx, ny = -u[1] * half_w, u[0] * half_w
    return shaft, [tip, (bx + nx, by + ny), (bx - nx, by - ny)]


def _draw_edge(img: np.ndarray, source: Node, target: Node) -> None:
    """A segment from the source's border to the target's border, in the source's style."""
    span = edge_span(source, target)
    if span is None:
        return
    p0, u, length = span
    color = _bgr(source.line_color)
    if source.line_style == "dashed line":
        _dashed(img, p0, u, length, color)
    elif has_head(source, target):
        _arrow(img, p0, u, length, head_length(target), color)
    else:
        _segment(img, p0, u, 0.0, length, color)


def _segment(img: np.ndarray, p0: Point, u: Point, s0: float, s1: float, color: tuple) -> None:
    """The part of the ray p0 + s * u with s0 <= s <= s1."""
    a = _fixed(p0[0] + u[0] * s0, p0[1] + u[1] * s0)
    b = _fixed(p0[0] + u[0] * s1, p0[1] + u[1] * s1)
    cv2.line(img, a, b, color, LINE_W, cv2.LINE_AA, SHIFT)


def _dashed(img: np.ndarray, p0: Point, u: Point, length: float, color: tuple) -> None:
    """Dashes from p0 on; those off the canvas are skipped (an edge may be very long)."""
    lo, hi = _visible(p0, u, length)
    s = max(0.0, math.floor(lo / (DASH + GAP)) * (DASH + GAP))
    while s < hi:
        _segment(img, p0, u, s, min(s + DASH, length), color)
        s += DASH + GAP


def _visible(p0: Point, u: Point, length: float) -> tuple[float, float]:
    """The range of s in [0, length] where p0 + s * u lies on the canvas (Liang-Barsky)."""
    lo, hi = 0.0, length
    for p, d, size in ((p0[0], u[0], CANVAS_W), (p0[1], u[1], CANVAS_H)):
        if abs(d) < 1e-12:
            if not -LINE_W <= p <= size + LINE_W:
                return 0.0, 0.0
            continue
        a, b = (-LINE_W - p) / d, (size + LINE_W - p) / d
        lo, hi = max(lo, min(a, b)), min(hi, max(a, b))
    return lo, hi


def _arrow(img: np.ndarray, p0: Point, u: Point, length: float, head: float, color: tuple) -> None:
    """A line whose filled head (`head` px long) has its tip exactly `length` along the ray."""
    shaft, corners = arrow_parts(p0, u, length, head)
    if shaft:
        _segment(img, p0, u, 0.0, shaft, color)
    tri = np.array([_fixed(*p) for p in corners], np.int32)
    cv2.fillPoly(img, [tri], color, cv2.LINE_AA, SHIFT)


# --- nodes ----------------------------------------------------------------------------------


def _draw_node(img: np.ndarray, node: Node) -> None:
    pts = _outline(node.shape, node.width, node.height) + np.array(_fixed(node.x, node.y), np.int32)
    cv2.fillPoly(img, [pts], _bgr(node.fill), cv2.LINE_AA, SHIFT)
    cv2.polylines(img, [pts], True, _bgr(node.line_color), BORDER_W, cv2.LINE_AA, SHIFT)


def _draw_label(img: np.ndarray, node: Node, lines: tuple[str, ...], scale: float) -> None:
    """Lines of text centred on the node: from the first capital's top to the last descender."""
    color = _bgr(label_colour(node.fill))  # the colour the contrast metric judges
    for line, y in zip(lines, baselines(node, len(lines), scale), strict=True):
        x = node.x - text_width(line, scale) / 2
        org = (round(x), round(y))
        cv2.putText(img, drawable(line), org, FONT, scale, color, THICKNESS, cv2.LINE_AA)
