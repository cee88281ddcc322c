"""Auto-encoder embeddings keep what taste depends on (shipped weights in models/ae/)."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from engine.diagram.layout import layout
from engine.diagram.model import Diagram
from engine.diagram.render import render_array
from engine.diagram.sketch import Sketch
from engine.scoring import autoencoder
from engine.scoring.autoencoder import ConvAE, ink_weighted_mse
from engine.scoring.preprocess import INPUT_H, INPUT_W

BASE = Sketch(
    layers=(3, 5, 2), shape="circle", size=(44, 44), fill=(187, 222, 251),
    line_style="solid arrow", line_color=(33, 33, 33), labels=("in", "h", "out"),
)  # fmt: skip


@pytest.fixture(scope="module")
def embed():  # noqa: ANN201 - returns a function
    embedder = autoencoder.load(device="cpu")
    return lambda *ds: embedder.embed([render_array(d) for d in ds])


def _distance(e: np.ndarray, i: int = 0, j: int = 1) -> float:
    return float(np.linalg.norm(e[i] - e[j]))


def _shifted(d: Diagram, dx: int) -> Diagram:
    return Diagram(tuple(n.moved(x=n.x + dx) for n in d.nodes))


def test_the_same_diagram_twice_is_at_distance_zero_and_a_shifted_copy_is_close(embed) -> None:
    d = layout(BASE)
    e = embed(d, d, _shifted(d, 1))
    assert _distance(e, 0, 1) == 0.0
    assert _distance(e, 0, 2) < 0.05


@pytest.mark.parametrize(
    "change",
    [
        {"fill": (255, 205, 210)},  # pale blue -> pale red
        {"fill": (21, 101, 192)},  # pale blue -> dark blue
        {"shape": "rectangle"},
        {"shape": "round rectangle"},
        {"line_style": "dashed line"},
        {"direction": "down"},
        {"layers": (6, 10, 10, 4), "labels": ()},
    ],
)
def test_diagrams_differing_in_one_visual_attribute_are_far_apart(embed, change: dict) -> None:
    d = layout(BASE)
    e = embed(d, _shifted(d, 1), layout(replace(BASE, **change)))
    shift = _distance(e, 0, 1)
    other = _distance(e, 0, 2)
    assert other > 0.2, f"{change}: only {other:.3f} apart"  # unrelated pairs: ~1 (RMS)
    assert other > 10 * shift, f"{change}: {other:.3f} vs a 1-px shift's {shift:.3f}"


def test_embedding_shape_and_scale(embed) -> None:
    e = embed(layout(BASE), layout(replace(BASE, steps=("a", "b"), layers=(), labels=())))
    assert e.shape == (2, autoencoder.LATENT + autoencoder.descriptors.SIZE)
    assert np.isfinite(e).all() and 0.2 < _distance(e) < 5.0


def test_the_loss_weighs_ink_more_than_canvas() -> None:
    target = torch.ones(1, 3, INPUT_H, INPUT_W)
    target[:, :, :10] = 0.0  # a band of ink
    miss_ink, miss_canvas = target.clone(), target.clone()
    miss_ink[:, :, :5] = 1.0  # half of the ink lost ...
    miss_canvas[:, :, 50:55] = 0.0  # ... or the same number of canvas pixels inked
    assert ink_weighted_mse(miss_ink, target) > 5 * ink_weighted_mse(miss_canvas, target)


def test_a_fresh_model_round_trips_shapes() -> None:
    model = ConvAE(latent=8, width=8)
    recon, z = model(torch.rand(2, 3, INPUT_H, INPUT_W))
    assert recon.shape == (2, 3, INPUT_H, INPUT_W) and z.shape == (2, 8)
    assert recon.min() >= 0.0 and recon.max() <= 1.0
