"""The node list's content blocks: kinds, colours in LCh, labels, and kind interactions."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.diagram.layout import layout
from engine.diagram.model import Diagram
from engine.diagram.sketch import Sketch
from engine.scoring import content, knn
from engine.scoring.content import BLOCKS, describe, kind_of

NET = Sketch(layers=(3, 5, 2), shape="circle", size=(44, 44), fill=(187, 222, 251))
STACK = Sketch(steps=("input 64x64", "conv 3x3 8", "max pool", "dense 128", "softmax"),
               shape="rectangle", size=(150, 50))  # fmt: skip
FLOW = Sketch(steps=("load data", "clean rows", "train model", "evaluate"), shape="rectangle",
              size=(150, 50))  # fmt: skip
# Fourteen dummy image blocks of one value each: combine() then scales like the engine's.
IMAGE_BLOCKS = tuple(slice(i, i + 1) for i in range(2))


def _embed(*diagrams: Diagram) -> np.ndarray:
    return content.combine(np.zeros((len(diagrams), 2)), IMAGE_BLOCKS, list(diagrams))


def _block_distance(e: np.ndarray, name: str) -> float:
    s = content.blocks(IMAGE_BLOCKS)[len(IMAGE_BLOCKS) + list(BLOCKS).index(name)]
    return float(np.linalg.norm(e[0, s] - e[1, s]))


def test_the_kind_is_read_from_the_edges_and_the_labels() -> None:
    assert kind_of(layout(NET)) == "network"
    assert kind_of(layout(replace(NET, labels=("in", "h", "out"), layers=(4, 12, 2)))) == "network"
    assert kind_of(layout(STACK)) == "stack"
    assert kind_of(layout(FLOW)) == "flow"
    fork = replace(FLOW, steps=("split", "train a", "train b", "merge"),
                   edges=((0, 1), (0, 2), (1, 3), (2, 3)))  # fmt: skip
    assert kind_of(layout(fork)) == "flow"  # full layers, but every step named apart
    kinds = describe(layout(NET))[BLOCKS["kind"]]
    np.testing.assert_array_equal(kinds, [1, 0, 0])


def test_labels_on_and_off_are_far_apart_in_the_labels_block() -> None:
    plain = layout(NET)
    labelled = layout(replace(NET, labels=("in", "h", "out")))
    e = _embed(plain, labelled)
    assert _block_distance(e, "labels") > 2 * knn.BANDWIDTH
    assert describe(plain)[BLOCKS["labels"]].tolist() == [0, 0, 0]
    present, scale, fit = describe(labelled)[BLOCKS["labels"]]
    assert present == 1 and scale > 0 and fit == 1


@pytest.mark.parametrize(
    "a, b", [((187, 222, 251), (21, 101, 192)), ((187, 222, 251), (33, 150, 243))],
    ids=["pastel vs dark blue", "pastel vs saturated blue"],
)  # fmt: skip
def test_lightness_and_saturation_within_a_hue_are_visible(a: tuple, b: tuple) -> None:
    e = _embed(layout(replace(NET, fill=a)), layout(replace(NET, fill=b)))
    lightness, chroma = _block_distance(e, "lightness"), _block_distance(e, "chroma")
    assert max(lightness, chroma) > 2 * knn.BANDWIDTH
    assert _block_distance(e, "hue") < knn.BANDWIDTH  # one hue


def test_circles_for_networks_and_for_flows_differ_in_kind_x_shape_only_by_kind() -> None:
    net, flow = layout(NET), layout(replace(FLOW, shape="circle"))
    rect_net = layout(replace(NET, shape="rectangle"))
    e = _embed(net, flow)
    assert _block_distance(e, "shapes") == 0.0  # both all circles ...
    assert _block_distance(e, "kind x shape") > 2 * knn.BANDWIDTH  # ... of different kinds
    same_kind = _embed(net, layout(replace(NET, layers=(2, 4, 4, 1))))
    assert _block_distance(same_kind, "kind x shape") == 0.0
    assert _block_distance(_embed(net, rect_net), "kind x shape") > 2 * knn.BANDWIDTH


def test_the_direction_has_a_block_per_kind_apart_from_dashes_and_labels() -> None:
    """Top-down flows, left-right networks: in kind x flow, the direction alone sets the
    distance within a kind, and dashes or labels do not enter it."""
    right, down = layout(replace(FLOW, direction="right")), layout(replace(FLOW, direction="down"))
    dashed = layout(replace(FLOW, direction="right", line_style="dashed line"))
    assert _block_distance(_embed(right, down), "kind x flow") > 2 * knn.BANDWIDTH
    assert _block_distance(_embed(right, dashed), "kind x flow") == pytest.approx(0.0, abs=1e-6)
    assert _block_distance(_embed(right, dashed), "kind x style") > knn.BANDWIDTH
    net_right = layout(replace(NET, direction="right"))
    assert _block_distance(_embed(right, net_right), "kind x flow") > 2 * knn.BANDWIDTH


def test_a_kind_dependent_taste_is_learnt_from_the_kind_x_shape_block() -> None:
    """Circles for networks, rectangles for flows: the shapes block alone cannot say it."""
    looks = [(kind, shape) for kind in (NET, FLOW) for shape in ("circle", "rectangle")]
    diagrams = [layout(replace(k, shape=s)) for k, s in looks]
    liked = np.array([5.0, 1.0, 1.0, 5.0])  # network circles, flow rectangles
    e = _embed(*diagrams)
    blocks = content.blocks(IMAGE_BLOCKS)
    rated = np.repeat(e, 5, axis=0)
    ratings = np.repeat(liked, 5)
    got = knn.expected_ratings(rated, ratings, e, 3.0, blocks=blocks).rating
    assert got[0] > got[1] + 1 and got[3] > got[2] + 1


@settings(max_examples=40, deadline=None)
@given(rgb=st.tuples(*[st.integers(0, 255)] * 3))
def test_lch_is_cielab_in_polar_form(rgb: tuple) -> None:
    light, chroma, hue = content.lch(np.array(rgb, np.float64))
    assert 0 <= light <= 1.0001 and 0 <= chroma <= 1.4
    assert np.hypot(*hue) == pytest.approx(chroma * 100 / (chroma * 100 + content.HUE_GREY))
    if rgb[0] == rgb[1] == rgb[2]:
        assert chroma < 0.01  # greys have no hue


def test_the_embedding_uses_the_kept_image_blocks_and_every_content_block() -> None:
    from engine.scoring.autoencoder import block_slices

    image = block_slices(32)
    used = content.blocks(image)
    names = content.block_names(image)
    assert names[: len(content.IMAGE_KEPT)] == content.IMAGE_KEPT
    assert len(used) == len(names) == len(content.IMAGE_KEPT) + len(BLOCKS)
    assert used[-1].stop == image[-1].stop + content.SIZE
