"""Wide layers, drawn collapsed: on the canvas, readable, exact to fidelity, served end to end."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.diagram.fidelity import fidelity
from engine.diagram.label_fit import fit_label
from engine.diagram.layout import (
    MARKER_SHAPE,
    MAX_UNITS,
    SHOWN,
    WIDE,
    drawn,
    layout,
    marker_label,
    marker_units,
)
from engine.diagram.metrics import COMFORT_SPACING, metrics
from engine.diagram.model import LINE_STYLES, SHAPES, Diagram, DiagramError, Node, Spec
from engine.diagram.parse import parse
from engine.diagram.read import to_diagram
from engine.diagram.render import render, render_array
from engine.diagram.sketch import Sketch
from engine.diagram.spec import extract_spec
from engine.diagram.text import to_text
from engine.diagram.validate import validate
from engine.llm.generate import Generation
from engine.pipeline import BadRequest, read, spec_of

MNIST = Sketch(layers=(784, 128, 10))
GEOMETRY = {"overlap", "off canvas", "bad size"}


def markers(d: Diagram) -> list[Node]:
    return [n for n in d.nodes if marker_units(n.label) is not None]


# ---- layout --------------------------------------------------------------------------------

sizes = st.one_of(st.integers(1, 16), st.sampled_from((11, 64, 784, 4096, 50257, MAX_UNITS)))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(sizes, min_size=1, max_size=6),
    st.sampled_from(("right", "down")),
    st.sampled_from(SHAPES),
    st.tuples(st.integers(1, 1000), st.integers(1, 1000)) | st.just((40, 40)),
    st.sampled_from(LINE_STYLES),
)
def test_collapsed_networks_stay_on_canvas_apart_and_exact(
    layers: list[int], direction: str, shape: str, size: tuple[int, int], line: str
) -> None:
    sketch = Sketch(
        layers=tuple(layers), direction=direction, shape=shape, size=size, line_style=line
    )
    d = layout(sketch)
    assert len(d.nodes) == sum(map(drawn, layers))
    assert [p.what for p in validate(d) if p.what in GEOMETRY] == []
    m = metrics(d)
    assert m.min_spacing >= COMFORT_SPACING
    assert m.edges_through_nodes == 0
    assert m.edge_crossings == m.k22_crossings  # full bipartite crossings only
    assert len(markers(d)) == sum(units > WIDE for units in layers)
    if len(layers) > 1:
        assert fidelity(d, Spec("network", layers=tuple(layers))).exact


def test_a_wide_layer_is_three_units_a_marker_and_the_last() -> None:
    d = layout(Sketch(layers=(784, 128, 10), labels=("x", "h", "y")))
    assert len(d.nodes) == 5 + 5 + 10
    assert [n.label for n in d.nodes[:5]] == ["x", "x", "x", "... 784", "x"]
    assert d.nodes[SHOWN].label == marker_label(784) and d.nodes[8].label == "... 128"
    assert all(n.targets == tuple(range(5, 10)) for n in d.nodes[:5])  # the marker too
    assert all(n.targets == tuple(range(10, 20)) for n in d.nodes[5:10])
    marker = d.nodes[SHOWN]
    assert marker.shape == MARKER_SHAPE and marker.width > d.nodes[0].width
    # A collapsed layer spans as far as the tallest full layer: 784 does not look like fewer
    ys = [n.y for n in d.nodes[:5]]
    assert ys[0] == d.nodes[10].y and ys[-1] == d.nodes[19].y


@pytest.mark.parametrize(("units", "nodes"), [(WIDE, WIDE), (WIDE + 1, SHOWN + 2)])
def test_the_widest_full_layer(units: int, nodes: int) -> None:
    assert len(layout(Sketch(layers=(units,))).nodes) == nodes == drawn(units)


@pytest.mark.parametrize(
    "sketch",
    [
        MNIST,
        Sketch(layers=(784, 128, 10), direction="down"),
        Sketch(layers=(784, 256, 128, 10)),
        Sketch(layers=(784, 256, 128, 10), direction="down", labels=("x", "h", "h", "y")),
        Sketch(layers=(3072, 4096, 4096, 1000), direction="down"),
        Sketch(layers=(MAX_UNITS, 50000, 3), shape="rectangle", size=(60, 30)),
        Sketch(layers=(12, 768)),  # what a model writes for "gpt-2, 12 layers, 768 hidden"
    ],
    ids=["mnist", "mnist-down", "deeper", "deeper-down-labels", "big", "huge", "12-768"],
)
def test_common_wide_networks_are_clean_and_their_counts_readable(sketch: Sketch) -> None:
    d = layout(sketch)
    assert validate(d) == []  # labels included: every marker's count is readable
    for n in markers(d):
        assert fit_label(n.label, n.width, n.height, n.shape).lines in (
            (n.label,),
            tuple(n.label.split(" ", 1)),
        )


def test_huge_layers_cost_nothing_and_limits_are_clear() -> None:
    start = time.perf_counter()
    d = layout(Sketch(layers=(MAX_UNITS,) * 40))
    assert len(d.nodes) == 200 and time.perf_counter() - start < 2.0
    with pytest.raises(
        DiagramError, match="201 nodes even with its wide layers collapsed; the limit is 200"
    ):
        layout(Sketch(layers=(MAX_UNITS,) * 40 + (1,)))  # 201
    with pytest.raises(DiagramError, match="1,000,001 units is over the limit of 1,000,000"):
        layout(Sketch(layers=(3, MAX_UNITS + 1, 2)))
    with pytest.raises(DiagramError, match="would have 201 nodes; the limit is 200"):
        layout(Sketch(layers=(1,) * 201))
    with pytest.raises(DiagramError, match="over the limit"):
        to_diagram("layers: 2 5000000 3")


def test_normal_networks_have_no_markers() -> None:
    d = layout(Sketch(layers=(10, 10, 3)))
    assert markers(d) == [] and len(d.nodes) == 23


# ---- fidelity ------------------------------------------------------------------------------


def test_a_collapsed_layer_counts_as_its_declared_size() -> None:
    d = layout(MNIST)
    f = fidelity(d, Spec("network", layers=(784, 128, 10)))
    assert f.exact and f.score == 1.0 and "784-128-10 as asked" in f.why
    for wrong in [(784, 64, 10), (784, 128), (5, 5, 10), (784, 128, 10, 1)]:
        f = fidelity(d, Spec("network", layers=wrong))
        assert not f.exact and f.score < 1.0, wrong


def with_label(d: Diagram, index: int, label: str) -> Diagram:
    nodes = list(d.nodes)
    nodes[index] = nodes[index].moved(label=label)
    return Diagram(tuple(nodes))


def test_marker_reading_rules() -> None:
    d = layout(Sketch(layers=(784, 3)))
    spec = Spec("network", layers=(784, 3))
    assert fidelity(with_label(d, SHOWN, "… 784"), spec).exact
    assert fidelity(with_label(d, SHOWN, "⋮784"), spec).exact
    two = with_label(d, 0, "... 784")  # two markers in one layer: neither counts
    assert fidelity(two, Spec("network", layers=(5, 3))).exact
    small = with_label(d, SHOWN, "... 4")  # fewer than the nodes drawn: an ordinary node
    assert fidelity(small, Spec("network", layers=(5, 3))).exact
    assert marker_units("... 4 layers") is None and marker_units("784") is None
    assert marker_label(4096) == "... 4096" and marker_label(50257) == "... 50,257"
    assert marker_units("... 50,257") == 50257 and marker_units("... 5,02,57") is None


# ---- the text round trip, the renderer, the request ----------------------------------------


def test_round_trip_keeps_the_markers_and_exactness() -> None:
    d = layout(MNIST)
    back = parse(to_text(d))
    assert back.problems == [] and back.diagram == d
    assert fidelity(back.diagram, Spec("network", layers=(784, 128, 10))).exact


def test_the_count_is_drawn() -> None:
    d = layout(MNIST)
    assert render(d).startswith(b"\x89PNG")
    marker = d.nodes[SHOWN]
    x0, y0, x1, y1 = (round(v) for v in marker.box)
    inside = (slice(y0 + 4, y1 - 4), slice(x0 + 10, x1 - 10))  # clear of the round corners
    with_count = render_array(d)[inside]
    without = render_array(with_label(d, SHOWN, ""))[inside]
    assert (without > 200).all()  # a white box ...
    assert (with_count.max(axis=2) < 100).sum() > 40  # ... with dark text in it
    assert not np.array_equal(with_count, render_array(with_label(d, SHOWN, "... 785"))[inside])


def test_mnist_request_is_served_and_absurd_ones_refused() -> None:
    assert extract_spec("784 inputs, 128 hidden units and 10 outputs") == Spec(
        "network", layers=(784, 128, 10)
    )
    spec = spec_of("an MLP for MNIST: 784 inputs, 128 hidden, 10 outputs")
    assert spec == Spec("network", layers=(784, 128, 10))
    assert spec_of("an MLP 10000-10000-1") == Spec("network", layers=(10000, 10000, 1))
    with pytest.raises(BadRequest, match="5,000,000 units is over the limit of 1,000,000"):
        spec_of("an MLP 5000000-10-1")
    with pytest.raises(BadRequest, match="205 nodes even with its wide layers collapsed"):
        spec_of("an MLP " + "-".join(["500"] * 41))
    answer = Generation(text="layers: 784 128 10", tokens=9, finished=True, seconds=0.1)
    c = read(answer, spec)
    assert c.valid and c.fidelity.exact and not c.contradicts and c.problems == []
    assert c.readability > 0.9
