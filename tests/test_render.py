"""The renderer and label fitting: determinism, borders, line styles, labels, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from diagrammer.cli import main
from engine.diagram.label_fit import MAX_SCALE, MIN_SCALE, fit_label, room, text_width
from engine.diagram.layout import layout
from engine.diagram.model import CANVAS_H, CANVAS_W, Diagram, Node
from engine.diagram.render import PREVIEW_MARGIN, encode_png, preview_png, render, render_array
from engine.diagram.sketch import parse_sketch

FILL = (200, 230, 255)  # light blue: black labels, easy to tell from the dark lines
INK = (20, 20, 20)


def node(i: int, x: int, y: int, shape: str = "rectangle", w: int = 100, h: int = 60, **kw) -> Node:
    defaults = dict(line_style="solid arrow", fill=FILL, line_color=INK, targets=(), label="")
    return Node(i, x, y, shape, w, h, **{**defaults, **kw})


def pair(shape: str, style: str = "solid arrow", a=(200, 200), b=(650, 420)) -> Diagram:
    """Two nodes, the first pointing to the second, diagonal so every axis is exercised."""
    return Diagram(
        (
            node(0, *a, shape, 90, 70, line_style=style, targets=(1,)),
            node(1, *b, shape, 140, 80),
        )
    )


def is_dark(px: np.ndarray) -> bool:
    return int(px.astype(int).sum()) < 3 * 110


def test_same_input_same_bytes_with_other_renders_between() -> None:
    d = pair("circle")
    first = render(d)
    render(pair("rectangle", "dashed line"))
    render_array(Diagram((node(0, 500, 300, label="other"),)))
    assert render(d) == first
    assert render(d) == first


def test_png_decodes_to_canvas_size_and_array_is_rgb() -> None:
    d = Diagram((node(0, 500, 300, fill=(255, 0, 0), w=200, h=100),))
    img = cv2.imdecode(np.frombuffer(render(d), np.uint8), cv2.IMREAD_UNCHANGED)
    assert img.shape == (CANVAS_H, CANVAS_W, 3) and img.dtype == np.uint8
    rgb = render_array(d)
    assert rgb.shape == (CANVAS_H, CANVAS_W, 3)
    assert tuple(rgb[300, 500]) == (255, 0, 0)  # red fill, RGB order
    assert tuple(img[300, 500]) == (0, 0, 255)  # PNG decoded by OpenCV is BGR
    assert tuple(rgb[5, 5]) == (255, 255, 255)  # white canvas


def test_encode_png_of_the_array_is_the_render() -> None:
    """A diagram drawn once (render_array, for scoring) gives the PNG render() would."""
    d = Diagram((node(0, 300, 200, fill=(255, 0, 0), targets=(1,)), node(1, 700, 400, "circle")))
    png = encode_png(render_array(d))
    assert png == render(d)
    assert png != render(pair("circle"))


def _inside(n: Node, x: float, y: float, margin: float) -> bool:
    """(x, y) lies inside n's outline shrunk by `margin` px (box or ellipse)."""
    a, b = n.width / 2 - margin, n.height / 2 - margin
    dx, dy = abs(x - n.x), abs(y - n.y)
    if n.shape == "circle":
        return (dx / a) ** 2 + (dy / b) ** 2 <= 1
    if n.shape == "round rectangle":  # corners: circles of radius min(16, a quarter side)
        r = min(16, min(n.width, n.height) / 4) - margin
        cx, cy = max(0.0, dx - (a - r)), max(0.0, dy - (b - r))
        return dx <= a and dy <= b and math.hypot(cx, cy) <= r
    return dx <= a and dy <= b


@pytest.mark.parametrize("shape", ["rectangle", "circle", "round rectangle"])
def test_arrow_ends_at_the_target_border(shape: str) -> None:
    d = pair(shape)
    src, tgt = d.nodes
    img = render_array(d)
    length = math.dist((src.x, src.y), (tgt.x, tgt.y))
    ux, uy = (tgt.x - src.x) / length, (tgt.y - src.y) / length
    samples = [(src.x + ux * s, src.y + uy * s) for s in np.arange(0, length, 0.5)]
    # Where the centre line enters the target (its outline).
    border = next(i for i, (x, y) in enumerate(samples) if _inside(tgt, x, y, 0))
    bx, by = samples[border]
    # Inside the target's fill, along the segment: no line, no arrowhead, only fill.
    for x, y in samples[border + 8 :]:
        if _inside(tgt, x, y, 4):
            assert tuple(img[round(y), round(x)]) == FILL
    # The last 8 px before the border are all ink: the head reaches the border, no gap.
    for x, y in samples[border - 16 : border]:
        assert is_dark(img[round(y), round(x)]), (shape, x, y)
    # 10 px before the border the head is wider than the 2 px shaft; mid-way it is not.
    nx, ny = -uy, ux
    for s, wide in ((10, True), (length / 2 - 40, False)):
        x, y = bx - ux * s, by - uy * s
        side = [img[round(y + k * ny * 3.5), round(x + k * nx * 3.5)] for k in (-1, 1)]
        assert all(is_dark(p) for p in side) == wide, (shape, s)


def test_line_styles_differ_and_dashes_have_gaps() -> None:
    imgs = {
        s: render_array(pair("rectangle", s)) for s in ("solid arrow", "solid line", "dashed line")
    }
    styles = list(imgs)
    for i, a in enumerate(styles):
        for b in styles[i + 1 :]:
            assert not np.array_equal(imgs[a], imgs[b]), (a, b)
    # Along the middle of the edge, a solid line is ink all the way, a dashed line is not.
    src, tgt = pair("rectangle").nodes
    mid = [
        (src.x + (tgt.x - src.x) * t, src.y + (tgt.y - src.y) * t)
        for t in np.linspace(0.35, 0.65, 120)
    ]

    def dark_share(img: np.ndarray) -> float:
        return float(np.mean([is_dark(img[round(y), round(x)]) for x, y in mid]))

    assert dark_share(imgs["solid line"]) == 1.0
    assert 0.35 < dark_share(imgs["dashed line"]) < 0.85


def test_edges_are_drawn_below_nodes() -> None:
    # An edge from 0 to 2 runs straight through node 1: node 1's fill must cover it.
    d = Diagram(
        (
            node(0, 100, 300, targets=(2,)),
            node(1, 500, 300, w=120, h=120),
            node(2, 900, 300),
        )
    )
    img = render_array(d)
    assert tuple(img[300, 500]) == FILL
    assert is_dark(img[300, 300])


def test_label_fit_shrinks_long_labels_and_wraps() -> None:
    short = fit_label("ab", 200, 60, "rectangle")
    long = fit_label("a rather long label for this box", 200, 60, "rectangle")
    assert short.fits and short.scale == MAX_SCALE and short.lines == ("ab",)
    assert long.fits and MIN_SCALE <= long.scale < short.scale
    assert len(long.lines) == 2 and " ".join(long.lines) == "a rather long label for this box"
    for line in long.lines:
        assert text_width(line, long.scale) <= room(200, 60, "rectangle", 0)[0]


def test_label_fit_reports_absurd_labels_and_ellipsises() -> None:
    fit = fit_label("supercalifragilisticexpialidocious " * 4, 60, 30, "rectangle")
    assert not fit.fits and fit.scale == MIN_SCALE
    assert len(fit.lines) == 1 and fit.lines[0].endswith("..")
    assert not fit_label("x", 0, 0, "circle").fits
    assert fit_label("   ", 10, 10, "circle") == fit_label("", 10, 10, "circle")


def test_circle_room_is_the_ellipse_not_a_box() -> None:
    # A thin line of text may use most of a circle's width, a tall block much less.
    assert room(100, 100, "circle", 10)[0] > 85
    assert room(100, 100, "circle", 70)[0] < 70
    assert fit_label("out", 40, 40, "circle").fits


def test_label_colour_follows_the_fill() -> None:
    light = render_array(Diagram((node(0, 500, 300, w=300, h=100, label="HELLO"),)))
    dark = render_array(
        Diagram((node(0, 500, 300, w=300, h=100, fill=(20, 30, 90), label="HELLO"),))
    )
    box = np.s_[270:330, 380:620]
    assert (light[box].sum(axis=2) < 100).sum() > 100  # black text on light fill
    assert (dark[box].min(axis=2) > 230).sum() > 100  # white text on dark fill


def test_bad_diagrams_do_not_crash() -> None:
    weird = Diagram(
        (
            node(0, 100, 100, targets=(0, 1, 99)),  # self link, fine target, dangling target
            node(1, 990, 590, "circle", 200, 200, line_style="zigzag", targets=(0,)),  # off canvas
            node(2, -5_000_000, 3, "hexagon", 10**7, 0, label="x"),  # absurd
            node(3, 500, 300, w=-10, h=40, fill=(300, -5, 128), label="neg"),
            node(4, 500, 300, w=30, h=30, line_style="dashed line", targets=(1, 3)),  # overlaps 3
            node(0, 700, 100, label="duplicate id"),
        )
    )
    for d in (weird, Diagram()):
        img = cv2.imdecode(np.frombuffer(render(d), np.uint8), cv2.IMREAD_COLOR)
        assert img.shape == (CANVAS_H, CANVAS_W, 3)
    assert (render_array(Diagram()) == 255).all()


def test_render_command_writes_a_png(tmp_path: Path) -> None:
    spec = tmp_path / "d.txt"
    spec.write_text(
        "[[0, 200, 300, 'circle', 60, 60, 'solid arrow', (173, 216, 230), (40, 40, 40), [1]],\n"
        " [1, 600, 300, 'rectangle', 120, 60, 'solid line', (255, 224, 178), (40, 40, 40), [7],"
        " 'out']]\n"
    )
    out = tmp_path / "d.png"
    assert main(["render", str(spec), "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    garbage = tmp_path / "g.txt"
    garbage.write_text("no diagram here")
    assert main(["render", str(garbage), "-o", str(out)]) == 2


def test_bench_render_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "render", "--n", "3", "--sweep-n", "1", "--out", str(tmp_path)]) == 0
    assert "renders/s" in capsys.readouterr().out
    assert (tmp_path / "render.png").stat().st_size > 1000


def _decoded(png: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)


def test_the_preview_is_the_render_cropped_to_its_ink_with_a_margin() -> None:
    sketch, _ = parse_sketch(
        "steps: load data | clean data | split train test | train model | evaluate model | "
        "deploy\ndirection: down\nshape: rectangle 150x50"
    )
    whole = _decoded(render(layout(sketch)))
    small = _decoded(preview_png(render(layout(sketch))))
    rows, cols = np.nonzero((whole < 250).any(axis=2))
    y0, x0 = rows.min() - PREVIEW_MARGIN, cols.min() - PREVIEW_MARGIN
    assert small.shape == (
        rows.max() + 1 + PREVIEW_MARGIN - y0, cols.max() + 1 + PREVIEW_MARGIN - x0, 3
    )
    assert np.array_equal(small, whole[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]])
    assert (small[:PREVIEW_MARGIN] == 255).all() and (small[:, -PREVIEW_MARGIN:] == 255).all()
    # At Discord's ~400 px preview the drawing (and its text) is shown over 1.5x larger.
    assert CANVAS_W / small.shape[1] > 1.5


def test_a_preview_stays_on_the_canvas_and_takes_what_it_cannot_read() -> None:
    edge = Diagram((node(0, 50, 30, w=100, h=60),))  # touches the canvas' corner
    whole, small = _decoded(render(edge)), _decoded(preview_png(render(edge)))
    h, w = small.shape[:2]  # from the canvas' corner (no margin there) to the ink's + margin
    assert 60 + PREVIEW_MARGIN <= h <= 64 + PREVIEW_MARGIN and w <= 104 + PREVIEW_MARGIN
    assert np.array_equal(small, whole[:h, :w])
    blank = render(Diagram(()))
    assert preview_png(blank) == blank
    assert preview_png(b"not a png") == b"not a png"
