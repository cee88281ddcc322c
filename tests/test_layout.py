"""Layout: every well-formed sketch lands on the canvas without overlaps, readable and exact."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.diagram.fidelity import fidelity
from engine.diagram.label_fit import MAX_SCALE, fit_label
from engine.diagram.layout import MAX_UP, READ_SCALE, layout
from engine.diagram.metrics import COMFORT_SPACING, metrics
from engine.diagram.model import LINE_STYLES, SHAPES, DiagramError, Spec, is_bend
from engine.diagram.read import to_diagram
from engine.diagram.sketch import Sketch, parse_sketch, structure_text
from engine.diagram.validate import validate

GEOMETRY = {"overlap", "off canvas", "bad size"}


def geometry_problems(sketch: Sketch) -> list[str]:
    return [p.what for p in validate(layout(sketch)) if p.what in GEOMETRY]


@st.composite
def styles(draw: st.DrawFn) -> dict:
    return {
        "direction": draw(st.sampled_from(("right", "down"))),
        "shape": draw(st.sampled_from(SHAPES)),
        "size": (draw(st.integers(1, 1000)), draw(st.integers(1, 1000))),
        "line_style": draw(st.sampled_from(LINE_STYLES)),
    }


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(1, 16), min_size=1, max_size=6), styles())
def test_networks_never_overlap_or_leave_the_canvas(layers: list[int], style: dict) -> None:
    sketch = Sketch(layers=tuple(layers), **style)
    if sketch.n_nodes > 200:
        with pytest.raises(
            DiagramError, match=f"would have {sketch.n_nodes} nodes; the limit is 200"
        ):
            layout(sketch)
        return
    d = layout(sketch)
    assert geometry_problems(sketch) == []
    m = metrics(d)
    assert m.min_spacing >= COMFORT_SPACING
    assert m.edges_through_nodes == 0
    assert m.edge_crossings == m.k22_crossings  # full bipartite crossings only
    if len(layers) > 1:
        assert fidelity(d, Spec("network", layers=sketch.layers)).exact


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 30), st.data(), styles())
def test_flows_never_overlap_or_leave_the_canvas(n: int, data: st.DataObject, style: dict) -> None:
    pairs = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda e: e[0] != e[1])
    edges = tuple(dict.fromkeys(data.draw(st.lists(pairs, max_size=20)))) if n > 1 else ()
    sketch = Sketch(steps=tuple(f"step {i}" for i in range(n)), edges=edges, **style)
    assert geometry_problems(sketch) == []
    assert metrics(layout(sketch)).min_spacing >= COMFORT_SPACING


@pytest.mark.parametrize(
    "sketch",
    [
        Sketch(layers=(200,)),
        Sketch(layers=(200,), direction="down", size=(1000, 1000)),
        Sketch(layers=(1,) * 200),
        Sketch(layers=(100, 100), shape="rectangle", size=(300, 20)),
        Sketch(steps=tuple(map(str, range(200)))),
        Sketch(steps=tuple(map(str, range(200))), edges=tuple((0, i) for i in range(1, 200))),
    ],
    ids=["wide", "wide-down-huge", "deep", "two-100s", "long-chain", "star"],
)
def test_extremes_fit(sketch: Sketch) -> None:
    assert geometry_problems(sketch) == []


def test_too_many_nodes_is_refused() -> None:
    with pytest.raises(DiagramError, match="this diagram would have 201 nodes; the limit is 200"):
        layout(Sketch(layers=(1,) * 201))


def test_network_ids_edges_and_labels() -> None:
    d = layout(Sketch(layers=(2, 3, 1), labels=("x", "h", "y")))
    assert [n.id for n in d.nodes] == list(range(6))
    assert (
        d.nodes[0].targets == (2, 3, 4) and d.nodes[4].targets == (5,) and d.nodes[5].targets == ()
    )
    assert [n.label for n in d.nodes] == ["x", "x", "h", "h", "h", "y"]
    xs = sorted({n.x for n in d.nodes})
    assert len(xs) == 3 and xs[1] == 500  # three columns, centred
    ys = [n.y for n in d.nodes[2:5]]
    assert ys == sorted(ys) and ys[1] == 300 and ys[1] - ys[0] == ys[2] - ys[1]  # even spacing


def test_direction_down_puts_layers_in_rows() -> None:
    d = layout(Sketch(layers=(2, 3), direction="down"))
    assert len({n.y for n in d.nodes}) == 2 and d.nodes[0].y < d.nodes[2].y


def test_flow_labels_and_ranks() -> None:
    sketch, _ = parse_sketch("steps: a | b | c | d\nedges: 1>2 1>3 2>4 3>4\ndirection: down")
    d = layout(sketch)
    assert [n.label for n in d.nodes] == ["a", "b", "c", "d"]
    assert d.nodes[1].y == d.nodes[2].y and d.nodes[0].y < d.nodes[1].y < d.nodes[3].y
    assert d.nodes[0].x == d.nodes[3].x == 500


def readable(sketch: Sketch) -> None:
    d = layout(sketch)
    assert validate(d) == []
    m = metrics(d)
    assert (m.edge_crossings, m.edges_through_nodes, m.readability) == (0, 0, 1.0)


@pytest.mark.parametrize("direction", ["right", "down"])
def test_long_chain_snakes_cleanly(direction: str) -> None:
    steps = ("load", "clean", "split", "train", "tune", "test", "ship", "watch", "retrain")
    sketch = Sketch(steps=steps, direction=direction, shape="rectangle", size=(100, 40))
    readable(sketch)
    d = layout(sketch)
    lines = {n.y for n in d.nodes} if direction == "right" else {n.x for n in d.nodes}
    assert len(lines) == 2


LONG_STEPS = (
    "client sends a request",
    "load balancer picks a server",
    "server checks the cache",
    "query the database",
    "build the response",
    "client renders the page",
)


def _share(d) -> float:
    """Share of the canvas inside the drawing's bounding box."""
    x0, y0 = min(n.x - n.width / 2 for n in d.nodes), min(n.y - n.height / 2 for n in d.nodes)
    x1, y1 = max(n.x + n.width / 2 for n in d.nodes), max(n.y + n.height / 2 for n in d.nodes)
    return (x1 - x0) * (y1 - y0) / (1000 * 600)


@pytest.mark.parametrize("direction", ["right", "down"])
@pytest.mark.parametrize(
    ("shape", "size"),
    [("round rectangle", (150, 50)), ("rectangle", (100, 40)), ("circle", (40, 40))],
)
def test_a_chain_of_long_steps_uses_the_canvas_and_its_labels_read(
    direction: str, shape: str, size: tuple[int, int]
) -> None:
    """Was: a thin strip (8% of the canvas), text at 0.55-0.6, circles' labels cut to "clie..".
    Now the nodes grow (same shape, one size, the sketch's aspect), the chain snakes, and
    every label is wrapped, whole, at READ_SCALE or more."""
    sketch = Sketch(steps=LONG_STEPS, direction=direction, shape=shape, size=size)
    readable(sketch)
    d = layout(sketch)
    fits = [fit_label(n.label, n.width, n.height, n.shape) for n in d.nodes]
    assert all(f.fits and f.scale >= READ_SCALE for f in fits)
    assert [" ".join(f.lines) for f in fits] == list(LONG_STEPS)  # wrapped, never cut
    assert {n.shape for n in d.nodes} == {shape}  # the style's shape ...
    assert len({(n.width, n.height) for n in d.nodes}) == 1  # ... one size ...
    w, h = d.nodes[0].width, d.nodes[0].height
    assert w / h == pytest.approx(size[0] / size[1], rel=0.03)  # ... of the sketch's aspect
    assert _share(d) >= 0.18  # was 0.06-0.08
    a, b = d.nodes[:2]  # the chain starts along the direction
    assert (b.x > a.x and b.y == a.y) if direction == "right" else (b.y > a.y and b.x == a.x)


def test_a_chain_that_reads_on_one_line_stays_on_it_and_grows_at_most_max_up() -> None:
    sketch = Sketch(steps=("load", "clean", "split", "train"), shape="rectangle", size=(100, 40))
    d = layout(sketch)
    readable(sketch)
    assert len({n.y for n in d.nodes}) == 1
    assert 100 < d.nodes[0].width <= 100 * MAX_UP and d.nodes[0].height <= 40 * MAX_UP
    assert {fit_label(n.label, n.width, n.height, n.shape).scale for n in d.nodes} == {MAX_SCALE}


def test_residual_edges_skip_around_nodes() -> None:
    sketch, _ = parse_sketch(
        "steps: input | attention | add & norm | feed forward | add & norm | output\n"
        "edges: 1>2 2>3 3>4 4>5 5>6 1>3 3>5\ndirection: down\nshape: rectangle 150x40"
    )
    readable(sketch)


@pytest.mark.parametrize("direction", ["right", "down"])
def test_edges_that_skip_ranks_bend_through_their_slots(direction: str) -> None:
    # An Inception module of plain steps: conv 1x1 -> concat skips the rank of conv 3x3;
    # drawn straight, it ran through the corner of conv 3x3.
    sketch, _ = parse_sketch(
        "steps: input | conv 1x1 | conv 1x1 b | conv 1x1 c | max pool | conv 3x3 | conv 5x5 | "
        "conv 1x1 d | concat\nedges: 1>2 1>3 1>4 1>5 3>6 4>7 5>8 2>9 6>9 7>9 8>9\n"
        f"direction: {direction}\nshape: rectangle 120x40"
    )
    readable(sketch)
    d = layout(sketch)
    bends = [n for n in d.nodes if is_bend(n)]
    assert bends and all(n.id >= len(sketch.steps) for n in bends)
    assert {n.shape for n in d.nodes if not is_bend(n)} == {"rectangle"}
    assert fidelity(d, Spec("flow", steps=sketch.steps, structure=structure_text(sketch))).exact


def test_order_within_ranks_avoids_crossings() -> None:
    # b and c both come after a; d follows c, e follows b: drawn in index order, b-e and c-d
    # would cross.
    sketch, _ = parse_sketch(
        "steps: a | b | c | d | e\nedges: 1>2 1>3 3>4 2>5\nshape: rectangle 80x40"
    )
    readable(sketch)


def test_back_edges_do_not_rank_and_run_around_the_nodes() -> None:
    sketch, _ = parse_sketch("steps: a | b | c\nedges: 1>2 2>3 3>1")
    d = layout(sketch)
    a, b, c = d.nodes[:3]
    assert a.x < b.x < c.x
    by_id = d.by_id()
    path, at = [], c.targets[0]
    while is_bend(by_id[at]):  # the loop leaves c through bend points ...
        path.append(by_id[at])
        (at,) = by_id[at].targets
    assert at == a.id and len(path) == 2  # ... and enters a: down, back, up
    assert all(p.y > max(n.y + n.height / 2 for n in (a, b, c)) for p in path)
    assert metrics(d).edges_through_nodes == 0


def test_same_sketch_same_diagram() -> None:
    sketch = Sketch(steps=("a", "b", "c", "d"), edges=((0, 1), (0, 2), (1, 3), (2, 3)))
    assert layout(sketch) == layout(sketch)


def test_read_picks_the_format() -> None:
    result = to_diagram("```\nlayers: 2 2\n```")
    assert len(result.diagram.nodes) == 4 and result.problems == []
    node_list = "[0, 100, 100, 'circle', 40, 40, 'solid arrow', (1, 2, 3), (0, 0, 0), [1]]\n"
    node_list += "[1, 300, 100, 'circle', 40, 40, 'solid arrow', (1, 2, 3), (0, 0, 0), []]"
    assert [n.x for n in to_diagram(node_list).diagram.nodes] == [100, 300]
    with pytest.raises(DiagramError, match="unreadable sketch"):
        to_diagram("layers: many")
    with pytest.raises(DiagramError, match="the limit is 200"):
        to_diagram("layers: " + "1 " * 201)
