"""Layout: every well-formed sketch lands on the canvas without overlaps, readable and exact."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.diagram.fidelity import fidelity
from engine.diagram.layout import layout
from engine.diagram.metrics import COMFORT_SPACING, metrics
from engine.diagram.model import LINE_STYLES, SHAPES, DiagramError, Spec, is_bend
from engine.diagram.read import to_diagram
from engine.diagram.sketch import Sketch, parse_sketch
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


def test_residual_edges_skip_around_nodes() -> None:
    sketch, _ = parse_sketch(
        "steps: input | attention | add & norm | feed forward | add & norm | output\n"
        "edges: 1>2 2>3 3>4 4>5 5>6 1>3 3>5\ndirection: down\nshape: rectangle 150x40"
    )
    readable(sketch)


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
