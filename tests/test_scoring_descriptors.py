"""Image descriptors read fill, line colour, node count and shape off renders of any palette."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.diagram.layout import layout
from engine.diagram.metrics import label_colour
from engine.diagram.model import Diagram
from engine.diagram.render import render_array
from engine.diagram.sketch import Sketch
from engine.scoring import descriptors
from engine.scoring.descriptors import BLOCKS, describe, lab

STEPS = ("load data", "clean", "train model", "evaluate", "deploy")
FLOW = Sketch(steps=STEPS, shape="round rectangle", size=(150, 50), line_color=(33, 33, 33))
NET = Sketch(layers=(3, 4, 3), shape="circle", size=(44, 44), labels=("in", "h", "out"))
DARK, GREY, PALE = (21, 101, 192), (218, 218, 218), (255, 249, 196)
CORNERS = {"rectangle": (0.9, 1.01), "round rectangle": (0.5, 0.9), "circle": (0.0, 0.45)}


def _read(d: Diagram) -> dict:
    v = describe(render_array(d))
    return {
        "fill": v[BLOCKS["fill"]],
        "stroke": v[BLOCKS["stroke"]],
        "corner": float(v[BLOCKS["shape"]][0]),
        "nodes": round(float(np.expm1(v[BLOCKS["layout"]][0]))),
    }


def _check(d: Diagram, sketch: Sketch) -> None:
    got = _read(d)
    np.testing.assert_allclose(got["fill"], lab(np.array(sketch.fill)), atol=0.02)
    np.testing.assert_allclose(got["stroke"], lab(np.array(sketch.line_color)), atol=0.03)
    assert got["nodes"] == len(d.nodes)
    low, high = CORNERS[sketch.shape]
    assert low <= got["corner"] < high, f"{sketch.shape} read with corner {got['corner']:.2f}"


@pytest.mark.parametrize("shape", ["round rectangle", "rectangle", "circle"])
def test_a_dark_flow_with_white_labels_keeps_fill_and_line_apart(shape: str) -> None:
    sketch = replace(FLOW, fill=DARK, shape=shape)
    assert label_colour(DARK) == (255, 255, 255)  # the case that swapped fill and line
    _check(layout(sketch), sketch)


@pytest.mark.parametrize("base", [NET, FLOW], ids=["network", "flow"])
def test_a_grey_fill_with_dark_lines_counts_its_nodes(base: Sketch) -> None:
    sketch = replace(base, fill=GREY, line_color=(33, 33, 33), shape="rectangle")
    _check(layout(sketch), sketch)


@pytest.mark.parametrize("base", [NET, FLOW], ids=["network", "flow"])
@pytest.mark.parametrize("line", [(66, 66, 66), (13, 71, 161), (0, 0, 0)])
def test_a_pale_fill_reads_the_line_colour_not_its_fringe(base: Sketch, line: tuple) -> None:
    sketch = replace(base, fill=PALE, line_color=line)
    _check(layout(sketch), sketch)


def test_white_nodes_read_white_and_the_line_colour_not_the_black_labels() -> None:
    sketch = replace(FLOW, fill=(255, 255, 255), line_color=(13, 71, 161))
    got = _read(layout(sketch))
    np.testing.assert_allclose(got["fill"], lab(np.array([255, 255, 255])), atol=1e-6)
    np.testing.assert_allclose(got["stroke"], lab(np.array(sketch.line_color)), atol=0.03)


_channel = st.integers(0, 255)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fill=st.tuples(_channel, _channel, _channel).filter(lambda c: min(c) < 235),
    line=st.tuples(_channel, _channel, _channel).filter(lambda c: min(c) < 200),
    shape=st.sampled_from(list(CORNERS)),
    network=st.booleans(),
)
def test_any_palette_is_read_back(fill: tuple, line: tuple, shape: str, network: bool) -> None:
    """Continuous colours: fill and line read back, nodes counted, the shape told, as long as
    fill and line differ by more than the tolerance that tells them apart."""
    if np.abs(np.subtract(fill, line)).sum() <= 3 * descriptors.FILL_TOLERANCE:
        return
    sketch = replace(NET if network else FLOW, fill=fill, line_color=line, shape=shape)
    _check(layout(sketch), sketch)
