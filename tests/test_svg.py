"""The SVG beside every PNG: well-formed, the PNG's shapes, colours and places, escaped text;
the render and draw commands write it, the engine serves it."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer

from diagrammer.cli import main
from diagrammer.commands import bench_render
from diagrammer.commands.draw import write
from engine.diagram import render
from engine.diagram.model import CANVAS_H, CANVAS_W, TITLE_H, Diagram, Node
from engine.diagram.parse import parse
from engine.diagram.render import title_strip
from engine.diagram.sketch import Sketch, sketch_to_text
from engine.diagram.svg import render_svg
from engine.llm.generate import Generation
from engine.pipeline import Sampled, by_readability, read_many, spec_of
from engine.service.app import ENGINE, create_app
from engine.service.config import Settings
from engine.service.demo_backend import DemoBackend, DemoTrainer
from engine.store.diagrams import Answered, NewDiagram

NS = "{http://www.w3.org/2000/svg}"
SECRET = "test-secret-0123456789"
AUTH = {"Authorization": f"Bearer {SECRET}"}
LIGHT, DARK, INK = (200, 230, 255), (20, 40, 90), (150, 30, 30)
DASHED = "dashed line"


def node(i: int, x: int, y: int, shape: str = "rectangle", w: int = 100, h: int = 60, **kw) -> Node:
    defaults = dict(line_style="solid arrow", fill=LIGHT, line_color=INK, targets=(), label="")
    return Node(i, x, y, shape, w, h, **{**defaults, **kw})


def styles() -> Diagram:
    """One of each shape, an edge of each style, all of them drawable; two labels."""
    out = dict(fill=DARK, line_style="solid line", targets=(0,), label="out")
    return Diagram(
        (
            node(0, 150, 150, "rectangle", 200, targets=(1, 2, 3), label="input layer"),
            node(1, 500, 120, "round rectangle", line_style="dashed line", targets=(2,)),
            node(2, 800, 450, "circle", 120, 90, **out),
            node(3, 300, 480, "circle", 30, 30, line_color=(10, 120, 10)),  # a small head
        )
    )


def parsed(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # raises on anything that is not well-formed XML
    assert root.tag == f"{NS}svg"
    return root


def group(root: ET.Element, name: str) -> list[ET.Element]:
    (g,) = [g for g in root.iter(f"{NS}g") if g.get("class") == name]
    return list(g)


def hexed(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)


def test_one_shape_per_node_one_path_per_edge_a_head_per_arrow() -> None:
    d = styles()
    root = parsed(render_svg(d))
    assert (root.get("viewBox"), root.get("width"), root.get("height")) == (
        "0 0 1000 600",
        "1000",
        "600",
    )
    shapes = group(root, "nodes")
    assert [s.tag.removeprefix(NS) for s in shapes] == ["rect", "rect", "ellipse", "ellipse"]
    assert shapes[0].get("rx") is None and float(shapes[1].get("rx")) == render.corner_radius(
        100, 60
    )
    edges = group(root, "edges")
    paths = [e for e in edges if e.tag == f"{NS}path"]
    heads = [e for e in edges if e.tag == f"{NS}polygon"]
    assert len(paths) == len(d.edges()) == 5
    assert len(heads) == 3  # node 0's arrows; dashed and plain lines have none
    texts = group(root, "labels")
    assert [t.text for t in texts] == ["input layer", "out"]


def test_shapes_cover_the_nodes_boxes() -> None:
    d = styles()
    for n, shape in zip(d.nodes, group(parsed(render_svg(d)), "nodes"), strict=True):
        x0, y0, x1, y1 = n.box
        if shape.tag == f"{NS}ellipse":
            got = [float(shape.get(k)) for k in ("cx", "cy", "rx", "ry")]
            assert got == [n.x, n.y, n.width / 2, n.height / 2]
        else:
            got = [float(shape.get(k)) for k in ("x", "y", "width", "height")]
            assert got == [x0, y0, x1 - x0, y1 - y0]


def test_colours_and_places_are_the_pngs() -> None:
    d = styles()
    root = parsed(render_svg(d))
    img = render.render_array(d)
    for n, shape in zip(d.nodes, group(root, "nodes"), strict=True):
        assert (shape.get("fill"), shape.get("stroke")) == (hexed(n.fill), hexed(n.line_color))
        if not n.label:  # the PNG's pixel at the centre is the fill the SVG names
            assert hexed(tuple(int(c) for c in img[n.y, n.x])) == shape.get("fill")
    sources = [s for s, _ in d.edges()]
    paths = [e for e in group(root, "edges") if e.tag == f"{NS}path"]
    for source, path in zip(sources, paths, strict=True):
        assert path.get("stroke") == hexed(source.line_color)
        (x0, y0), (x1, y1) = (map(float, p.split()) for p in path.get("d")[1:].split("L"))
        # Where the SVG's line starts, the PNG's line is drawn in that colour: same place.
        px = img[round(y0 + (y1 - y0) * 0.02), round(x0 + (x1 - x0) * 0.02)].astype(int)
        assert np.abs(px - source.line_color).max() < 60
    texts = group(root, "labels")
    assert [t.get("fill") for t in texts] == ["#000000", "#ffffff"]  # on light, on dark
    assert len({t.get("font-size") for t in texts}) == 1


def rasterised(svg: str) -> np.ndarray:
    """The SVG's lines and shapes drawn with OpenCV, text left out (no SVG library needed):
    RGB, as render_array."""
    img = np.full((CANVAS_H, CANVAS_W, 3), 255, np.uint8)
    root = parsed(svg)

    def rgb(hex_colour: str) -> tuple[int, ...]:
        return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))

    def poly(points: np.ndarray) -> list[np.ndarray]:
        return [np.round(points * 16).astype(np.int32)]

    angles = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    circle = np.stack([np.cos(angles), np.sin(angles)], axis=1)

    def shapes(name: str) -> None:
        for el in group(root, name):
            if el.tag == f"{NS}text":
                continue
            if el.tag == f"{NS}ellipse":
                cx, cy, rx, ry = (float(el.get(k)) for k in ("cx", "cy", "rx", "ry"))
                pts = circle * (rx, ry) + (cx, cy)
            else:
                x, y, w, h = (float(el.get(k)) for k in ("x", "y", "width", "height"))
                r = float(el.get("rx") or 0)
                half = np.array([w / 2 - r, h / 2 - r])  # a rounded box: a circle's quarters apart
                pts = circle * r + np.sign(circle + 1e-9) * half + (x + w / 2, y + h / 2)
            cv2.fillPoly(img, poly(pts), rgb(el.get("fill")), cv2.LINE_AA, 4)
            cv2.polylines(img, poly(pts), True, rgb(el.get("stroke")), 2, cv2.LINE_AA, 4)

    shapes("frames")  # behind everything, as in the PNG
    for el in group(root, "edges"):
        if el.tag == f"{NS}polygon":
            pts = np.array([p.split(",") for p in el.get("points").split()], float)
            cv2.fillPoly(img, poly(pts), rgb(el.get("fill")), cv2.LINE_AA, 4)
            continue
        a, b = (np.array(p.split(), float) for p in el.get("d")[1:].split("L"))
        length = float(np.hypot(*(b - a)))
        on, off = map(float, (el.get("stroke-dasharray") or f"{length} 1").split())
        for s in np.arange(0.0, length, on + off):
            ends = [a + (b - a) * t / length for t in (s, min(s + on, length))]
            p0, p1 = (tuple(int(v) for v in np.round(e * 16)) for e in ends)
            cv2.line(img, p0, p1, rgb(el.get("stroke")), 2, cv2.LINE_AA, 4)
    shapes("nodes")
    return img


@pytest.mark.parametrize("which", ["styles", "network", "flow", "invalid", "grouped"])
def test_the_svg_draws_what_the_png_shows(which: str) -> None:
    """Drawn again from the SVG alone, the picture is the PNG's but for the text: catches an
    SVG that misses or misplaces anything render.py draws (a new node look included)."""
    d = {
        "styles": styles,
        "network": lambda: bench_render._network(15),
        "flow": lambda: bench_render._flow(8),
        "invalid": invalid,
        "grouped": grouped,
    }[which]()
    png, again = render.render_array(d), rasterised(render_svg(d))
    differs = np.abs(png.astype(int) - again).max(axis=2) > 60
    frames = d.frames()
    for n in d.nodes:  # text is the viewer font's: leave labelled nodes' insides out
        if n.label.strip():
            x0, y0, x1, y1 = (round(v) for v in (title_strip(n) if n.id in frames else n).box)
            differs[max(0, y0 + 3) : max(0, y1 - 2), max(0, x0 + 3) : max(0, x1 - 2)] = False
    ink = (png.min(axis=2) < 200).sum()
    assert ink > 3000  # something was drawn to compare
    # Anti-aliasing and polygon ellipses leave 0.4-2.7% of the ink apart; an SVG without
    # arrowheads, or with square corners, is 5-9% apart.
    assert differs.sum() < 0.04 * ink, f"{differs.sum()} of {ink} ink pixels differ"


def grouped() -> Diagram:
    """A frame around two nodes, joined by an arrow bent at two bend points."""
    return Diagram(
        (
            node(10, 500, 300, w=700, h=360, fill=(245, 245, 245), label="encoder x6"),
            node(0, 300, 250, w=140, targets=(5,), label="attention"),
            node(5, 300, 400, "circle", 6, 6, targets=(6,)),
            node(6, 700, 400, "circle", 6, 6, targets=(1,)),
            node(1, 700, 250, w=140, label="feed forward"),
        )
    )


def test_frames_go_behind_titled_at_the_top_and_bends_get_no_heads() -> None:
    d = grouped()
    root = parsed(render_svg(d))
    frame, title = group(root, "frames")
    assert (frame.tag, frame.get("width"), title.text) == (f"{NS}rect", "700", "encoder x6")
    top = 300 - 360 / 2
    assert top < float(title.get("y")) < top + TITLE_H  # in the strip along the frame's top
    assert len(group(root, "nodes")) == 4  # the frame is not drawn again in front
    edges = group(root, "edges")
    assert [e.tag.removeprefix(NS) for e in edges] == ["path", "path", "path", "polygon"]
    assert [t.text for t in group(root, "labels")] == ["attention", "feed forward"]


def test_dashes_are_renders_dash_and_gap() -> None:
    paths = [e for e in group(parsed(render_svg(styles())), "edges") if e.tag == f"{NS}path"]
    dashes = [p.get("stroke-dasharray") for p in paths]
    assert dashes == [None, None, None, f"{render.DASH:g} {render.GAP:g}", None]  # 1 -> 2


def test_arrow_tips_touch_the_targets_outer_border_with_renders_heads() -> None:
    d = styles()
    heads = [e for e in group(parsed(render_svg(d)), "edges") if e.tag == f"{NS}polygon"]
    by_id = d.by_id()
    for head, target in zip(heads, (by_id[1], by_id[2], by_id[3]), strict=True):
        (tx, ty), b1, b2 = (tuple(map(float, p.split(","))) for p in head.get("points").split())
        dx, dy = tx - target.x, ty - target.y
        dist = np.hypot(dx, dy)
        expected = render.border_distance(target, dx / dist, dy / dist) + render.BORDER_W / 2
        assert dist == pytest.approx(expected, abs=0.02)
        base = ((b1[0] + b2[0]) / 2, (b1[1] + b2[1]) / 2)
        length = np.hypot(tx - base[0], ty - base[1])
        assert length == pytest.approx(render.head_length(target), abs=0.02)
        width = np.hypot(b1[0] - b2[0], b1[1] - b2[1])
        assert width == pytest.approx(2 * render.HEAD_HALF_W * length / render.HEAD_LEN, abs=0.02)


def test_labels_share_a_size_that_follows_the_box_and_two_lines_are_centred() -> None:
    def sizes(w: int, h: int) -> list[float]:
        d = Diagram((node(0, 300, 300, w=w, h=h, label="deep network"),))
        return [float(t.get("font-size")) for t in group(parsed(render_svg(d)), "labels")]

    assert sizes(90, 60)[0] < sizes(200, 60)[0]
    both = Diagram(
        (node(0, 200, 300, w=90, label="deep network"), node(1, 600, 300, w=200, label="a"))
    )
    # One size for the whole diagram: the big box's label comes down to the small one's.
    assert {t.get("font-size") for t in group(parsed(render_svg(both)), "labels")} == {
        f"{sizes(90, 60)[0]:g}"
    }
    two = Diagram((node(0, 300, 300, w=90, h=90, label="a fairly long label"),))
    lines = group(parsed(render_svg(two)), "labels")
    assert [t.text for t in lines] == ["a fairly", "long label"]
    ys = [float(t.get("y")) for t in lines]
    assert ys[0] < 300 < ys[1] and all(t.get("x") == "300" for t in lines)


def test_label_text_is_escaped() -> None:
    label = "<script>&\"' x</script>"
    d = Diagram((node(0, 500, 300, w=600, h=100, label=label), node(1, 500, 500, label="a\x01b")))
    svg = render_svg(d)
    assert "<script" not in svg and "&lt;script&gt;&amp;&quot;&#x27;" in svg
    texts = group(parsed(svg), "labels")
    assert texts[0].text == label  # the XML reader gets the label back, character for character
    assert texts[1].text == "a\ufffdb"  # XML cannot hold \x01 even escaped


def test_same_diagram_same_text_with_other_renders_between() -> None:
    first = render_svg(styles())
    render_svg(Diagram((node(0, 10, 10, label="other"),)))
    render.render(styles())
    assert render_svg(styles()) == first
    assert render_svg(Diagram((node(0, 150, 150, label="input layer"),))) != first


def invalid() -> Diagram:
    """Everything render.py tolerates."""
    return Diagram(
        (
            node(0, 100, 100, targets=(0, 1, 99)),  # self-link, fine target, dangling target
            node(1, 990, 590, "hexagon", 200, 200, line_style="zigzag", targets=(0,)),
            node(2, -5_000_000, 3, "circle", 10**7, 0, label="x"),  # no area: not drawn
            node(3, 500, 300, w=-10, h=40, label="neg"),  # no area: not drawn
            # A fill beyond 0-255 (clamped); its edge to the node without an area is skipped.
            node(4, 600, 300, w=30, h=30, fill=(300, -5, 128), targets=(1, 3), line_style=DASHED),
        )
    )


def test_invalid_diagrams_draw_as_the_png_does() -> None:
    weird = invalid()
    root = parsed(render_svg(weird))
    shapes = group(root, "nodes")
    assert [s.tag.removeprefix(NS) for s in shapes] == ["rect", "rect", "rect"]  # hexagon: rect
    assert shapes[2].get("fill") == "#ff0080"  # clamped
    paths = [e for e in group(root, "edges") if e.tag == f"{NS}path"]
    assert len(paths) == 3  # 0 -> 1, 1 -> 0 and 4 -> 1; not 0 -> 0, 0 -> 99 nor 4 -> 3
    assert [p.get("stroke-dasharray") is not None for p in paths] == [False, False, True]
    empty = parsed(render_svg(Diagram()))
    assert [e.get("class") for e in empty] == ["background", "frames", "edges", "nodes", "labels"]
    assert not any(len(g) for g in empty[1:])
    assert (empty[0].get("width"), empty[0].get("height")) == (str(CANVAS_W), str(CANVAS_H))


NODES = (
    "[[0, 200, 300, 'circle', 60, 60, 'dashed line', (173, 216, 230), (40, 40, 40), [1]],\n"
    " [1, 600, 300, 'rectangle', 120, 60, 'solid line', (255, 224, 178), (40, 40, 40), [7],"
    " 'out & <in>']]\n"
)


def test_render_command_writes_the_svg_beside_the_png(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "d.txt"
    spec.write_text(NODES)
    out = tmp_path / "d.png"
    assert main(["render", str(spec), "-o", str(out)]) == 0
    svg = (tmp_path / "d.svg").read_text(encoding="utf-8")
    assert svg == render_svg(parse(NODES).diagram) and out.read_bytes()[:4] == b"\x89PNG"
    assert capsys.readouterr().out.split() == [str(out), str(tmp_path / "d.svg")]
    assert main(["render", str(spec), "-o", str(tmp_path / "d.svg")]) == 2  # would overwrite
    assert "name the PNG" in capsys.readouterr().err


def test_draw_writes_an_svg_beside_each_png(tmp_path: Path) -> None:
    description = "an MLP with 2 inputs, 3 hidden units and 1 output"
    shapes = ("circle", "rectangle", "round rectangle")
    texts = [sketch_to_text(Sketch(layers=(2, 3, 1), shape=s)) for s in shapes]
    gens = [Generation(t, tokens=5, finished=True, seconds=0.0) for t in texts]
    sampled = Sampled([description], [spec_of(description)], [""], [gens], "m", None, 0.0, 0.0)
    (result,) = read_many(sampled, [by_readability(3)])
    result.candidates[2] = replace(result.candidates[2], png=None)  # as if it could not be drawn
    rows = write(result, 3, tmp_path)
    assert rows[2]["file"] is None and rows[2]["svg"] is None
    assert not (tmp_path / "rank3.svg").exists() and (tmp_path / "rank3.sketch.txt").exists()
    for row, c in zip(rows[:2], result.top(2), strict=True):
        svg = Path(row["svg"])
        assert svg == Path(row["file"]).with_suffix(".svg") and svg.parent == tmp_path
        assert svg.read_text(encoding="utf-8") == render_svg(c.diagram)
        assert len(group(parsed(svg.read_text()), "nodes")) == len(c.diagram.nodes) == 6


async def test_the_engine_serves_the_stored_diagram_as_svg(tmp_path: Path) -> None:
    s = Settings(secret=SECRET, data_dir=tmp_path, retrain_interval_min=0.0, batch_window_ms=20.0)
    app = create_app(s, DemoBackend(), DemoTrainer())
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        ask = {"user_id": "u", "description": "a network 2 3 1", "candidates": 2, "top": 1}
        body = await (await client.post("/v1/diagrams", json=ask, headers=AUTH)).json()
        first = body["results"][0]
        r = await client.get(f"/v1/diagrams/{first['id']}.svg", headers=AUTH)
        assert r.status == 200 and r.content_type == "image/svg+xml"
        svg = await r.text()
        assert svg == render_svg(parse(first["text"]).diagram)
        assert len(group(parsed(svg), "nodes")) == 6
        assert (await client.get(f"/v1/diagrams/{first['id']}.svg")).status == 401
        assert (await client.get("/v1/diagrams/0123456789abcdef.svg", headers=AUTH)).status == 404
        # A candidate stored without a picture has no SVG either, like its PNG.
        fields = dict(position=9, rank=None, text="x", valid=False, natural_stop=True)
        undrawn = NewDiagram("00000000000000aa", node_list=first["text"], image=None,
                             embedding=None, **fields)  # fmt: skip
        answered = Answered("", None, "base", {})
        await app[ENGINE].db.diagrams.save_answer(body["request_id"], answered, [undrawn])
        for ext in ("png", "svg"):
            got = await client.get(f"/v1/diagrams/{undrawn.id}.{ext}", headers=AUTH)
            assert got.status == 404


def test_bench_render_times_svg_beside_png(tmp_path: Path, capsys) -> None:
    assert main(["bench", "render", "--n", "3", "--sweep-n", "1", "--out", str(tmp_path)]) == 0
    rows = re.findall(r"^ *(PNG|SVG) +(\d+) ", capsys.readouterr().out, re.MULTILINE)
    assert [fmt for fmt, _ in rows] == ["PNG", "SVG"] and all(int(n) > 0 for _, n in rows)
    result = json.loads((tmp_path / "render.json").read_text())
    assert result["headline_svg"]["bytes"] == len(render_svg(bench_render._network(15)).encode())
    assert set(result["sweep_ms_p50"]) == {"network png", "network svg", "flow png", "flow svg"}
