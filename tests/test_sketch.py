"""The sketch format: tolerant reading, canonical writing, round trips, garbage refused."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.diagram.model import LINE_STYLES, SHAPES
from engine.diagram.sketch import Sketch, looks_like_sketch, parse_sketch, sketch_to_text

NETWORK = """layers: 3 5 2
direction: right
shape: circle 40x40
fill: 255 224 178
line: solid arrow 66 66 66
labels: in | h | out"""

FLOW = """steps: load data | clean | train model | evaluate | metrics ok? | deploy | retrain
edges: 1>2 2>3 3>4 4>5 5>6 5>7
direction: down
shape: round rectangle 170x50
fill: 200 230 201
line: dashed line 33 33 33"""


def test_canonical_texts_round_trip() -> None:
    for text in (NETWORK, FLOW):
        sketch, problems = parse_sketch(text)
        assert problems == []
        assert sketch is not None
        assert sketch_to_text(sketch) == text


def test_network_fields() -> None:
    sketch, _ = parse_sketch(NETWORK)
    assert sketch == Sketch(
        layers=(3, 5, 2),
        direction="right",
        shape="circle",
        size=(40, 40),
        fill=(255, 224, 178),
        line_style="solid arrow",
        line_color=(66, 66, 66),
        labels=("in", "h", "out"),
    )
    assert sketch.kind == "network" and sketch.n_nodes == 10


def test_flow_edges_are_zero_based_and_the_chain_is_the_default() -> None:
    sketch, _ = parse_sketch(FLOW)
    assert sketch is not None and sketch.kind == "flow"
    assert sketch.edges[-1] == (4, 6)
    chain, _ = parse_sketch("steps: a | b | c\nedges: 1>2 2>3")
    assert chain is not None and chain.edges == () and chain.flow_edges() == ((0, 1), (1, 2))
    assert "edges" not in sketch_to_text(chain)


def test_missing_optional_keys_take_defaults() -> None:
    net, problems = parse_sketch("layers: 2 3")
    assert problems == []
    assert net == Sketch(layers=(2, 3))
    flow, _ = parse_sketch("steps: a | b")
    assert flow is not None and (flow.shape, flow.size) == ("round rectangle", (150, 50))


def test_what_models_really_emit() -> None:
    text = """Here is the sketch:
```
LAYERS = 4-8-8-1
Direction: Top to bottom
shape:  Rounded box 50 x 40
fill: #FFE0B2
line: dashed, (10, 20, 30)
edges: 1>2
```"""
    sketch, problems = parse_sketch(text)
    assert sketch is not None
    assert sketch.layers == (4, 8, 8, 1)
    assert sketch.direction == "down"
    assert (sketch.shape, sketch.size) == ("round rectangle", (50, 40))
    assert sketch.fill == (255, 224, 178)
    assert (sketch.line_style, sketch.line_color) == ("dashed line", (10, 20, 30))
    whats = [p.what for p in problems]
    assert whats == ["not a sketch line", "misplaced key"]  # the sentence; edges of a network
    assert problems[0].line == 1


def test_chains_and_arrows_in_edges() -> None:
    sketch, problems = parse_sketch("steps: a | b | c | d\nedges: 1 -> 2 -> 4, 1>3 3>4 9>1 2>2")
    assert sketch is not None
    assert sketch.edges == ((0, 1), (1, 3), (0, 2), (2, 3))
    assert [p.what for p in problems] == ["bad edge", "bad edge"]


def test_bad_values_are_reported_and_defaulted() -> None:
    sketch, problems = parse_sketch(
        "layers: 2 3\nshape: hexagon 0x5\nfill: 300 1\nline: wiggly 1 2 3\ndirection: up\n"
        "labels: a | b | c\ncolour: red"
    )
    assert sketch is not None
    assert (sketch.shape, sketch.size, sketch.fill) == ("circle", (40, 40), (220, 235, 250))
    assert (sketch.line_style, sketch.direction, sketch.labels) == (
        "solid arrow",
        "right",
        ("a", "b"),
    )
    whats = {p.what for p in problems}
    assert whats == {
        "unknown shape", "bad size", "bad colour", "unknown line style", "unknown direction",
        "label count", "not a sketch line",
    }  # fmt: skip


def test_garbage_gives_no_sketch() -> None:
    for text in ("", "hello there", "layers: none", "steps: | |", "layers: 0 3", "[0, 1, 2]"):
        sketch, problems = parse_sketch(text)
        assert sketch is None, text
        assert problems


def test_never_evaluates() -> None:
    sketch, problems = parse_sketch("layers: __import__('os').system('x')\n")
    assert sketch is None and problems
    sketch, _ = parse_sketch("steps: __import__('os') | exec('1')")
    assert sketch is not None and sketch.steps == ("__import__('os')", "exec('1')")


def test_looks_like_sketch() -> None:
    assert looks_like_sketch(NETWORK) and looks_like_sketch("```\n Steps: a | b")
    assert not looks_like_sketch("[0, 10, 10, 'circle', 4, 4, 'solid arrow', (0,0,0), (0,0,0), []]")


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_random_text_never_raises(text: str) -> None:
    sketch, problems = parse_sketch(text)
    assert sketch is not None or problems


NAMES = (
    st.text(alphabet="abcdefghij klmnop?&/0123456789", min_size=1, max_size=20)
    .map(lambda s: " ".join(s.split()))
    .filter(bool)
)
COLOURS = st.tuples(*[st.integers(0, 255)] * 3)


@st.composite
def sketches(draw: st.DrawFn) -> Sketch:
    style = {
        "direction": draw(st.sampled_from(("right", "down"))),
        "shape": draw(st.sampled_from(SHAPES)),
        "size": (draw(st.integers(1, 400)), draw(st.integers(1, 400))),
        "fill": draw(COLOURS),
        "line_style": draw(st.sampled_from(LINE_STYLES)),
        "line_color": draw(COLOURS),
    }
    if draw(st.booleans()):
        layers = tuple(draw(st.lists(st.integers(1, 12), min_size=1, max_size=6)))
        labels = tuple(draw(st.lists(NAMES, min_size=len(layers), max_size=len(layers))))
        return Sketch(layers=layers, labels=labels if draw(st.booleans()) else (), **style)
    steps = tuple(draw(st.lists(NAMES, min_size=1, max_size=9)))
    n = len(steps)
    pairs = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda e: e[0] != e[1])
    edges = tuple(dict.fromkeys(draw(st.lists(pairs, max_size=12)))) if n > 1 else ()
    if edges == tuple((i, i + 1) for i in range(n - 1)):
        edges = ()
    return Sketch(steps=steps, edges=edges, **style)


@settings(max_examples=200, deadline=None)
@given(sketches())
def test_any_sketch_round_trips(sketch: Sketch) -> None:
    parsed, problems = parse_sketch(sketch_to_text(sketch))
    assert problems == []
    assert parsed == sketch


def test_numbers_of_thousands_of_digits_are_refused_clearly_not_crashed():
    import pytest

    from engine.diagram.model import DiagramError
    from engine.diagram.read import to_diagram

    huge = "9" * 5000  # int() itself refuses more than 4,300 digits
    with pytest.raises(DiagramError, match="over the limit"):
        to_diagram(f"layers: {huge} 3")
    for text in (f"steps: a | b\nedges: 1>{huge}", f"layers: 2 3\nfill: {huge} 1 1"):
        result = to_diagram(text)
        assert result.diagram.nodes and result.problems


def test_thousands_separators_in_layers_join_the_number():
    from engine.diagram.sketch import parse_sketch

    # A group of three digits with a leading zero is never a layer of its own.
    assert parse_sketch("layers: 10 000")[0].layers == (10000,)
    assert parse_sketch("layers: 10,000")[0].layers == (10000,)
    assert parse_sketch("layers: 784 128 10 000")[0].layers == (784, 128, 10000)
    assert parse_sketch("layers: 1 000 000 5")[0].layers == (1000000, 5)
    assert parse_sketch("layers: 3 5 2")[0].layers == (3, 5, 2)  # plain lists unchanged
    assert parse_sketch("layers: 100 200")[0].layers == (100, 200)
