"""CNN readability: 0..5 output, the shipped model prefers clean diagrams, fine-tuning works."""

import random

import numpy as np
import pytest
import torch

from engine.diagram.metrics import metrics
from engine.diagram.render import render_array
from engine.scoring import cnn
from engine.scoring.cnn import ReadabilityCNN, finetune_on_ratings, rating_to_target
from engine.scoring.preprocess import INPUT_H, INPUT_W
from training.data.degrade import KINDS, degrade
from training.data.synth import examples


@pytest.fixture(scope="module")
def shipped() -> ReadabilityCNN:
    return cnn.load(device="cpu")


def test_output_stays_on_the_0_to_5_scale() -> None:
    torch.manual_seed(0)
    model = ReadabilityCNN(width=4).eval()
    for head_bias in (-100.0, 0.0, 100.0):  # push the logit far both ways
        torch.nn.init.constant_(model.head[-1].bias, head_bias)
        x = torch.cat([torch.zeros(1, 3, INPUT_H, INPUT_W), torch.rand(2, 3, INPUT_H, INPUT_W)])
        with torch.no_grad():
            y = model(x)
        assert y.shape == (3,) and float(y.min()) >= 0.0 and float(y.max()) <= 5.0


def test_the_shipped_model_ranks_clean_diagrams_above_their_degraded_twins(shipped) -> None:
    # Four clean synthetic diagrams, each with one twin of every degradation kind; clear
    # cases only (the twin's label is a point or more lower on the 0..5 scale).
    rng = random.Random(4)
    pairs, kinds = [], []
    for example in examples(4, seed=99):
        clean = example.diagram
        for kind in KINDS:
            bad = degrade(clean, kind, rng)
            if 5 * (metrics(clean).readability - metrics(bad).readability) >= 1.0:
                pairs += [render_array(clean), render_array(bad)]
                kinds.append(kind)
    scores = cnn.score_images(shipped, pairs).reshape(-1, 2)
    wins = scores[:, 0] > scores[:, 1]
    structural = [
        w for w, k in zip(wins, kinds, strict=True) if k in ("overlap", "off canvas", "crossings")
    ]
    seen = list(zip(kinds, scores.round(2).tolist(), strict=True))
    assert len(structural) >= 8 and all(structural), seen
    assert len(wins) >= 16 and wins.mean() >= 0.8, seen


def test_rating_scale_maps_both_ways() -> None:
    np.testing.assert_allclose(rating_to_target([1, 3, 5]), [0.0, 2.5, 5.0])
    np.testing.assert_allclose(cnn.target_to_rating(rating_to_target([1, 2, 4])), [1, 2, 4])


def test_finetuning_on_ratings_moves_scores_toward_what_people_said() -> None:
    # People (contrarily) rate a clean diagram 1 and its cramped twin 5: a few steps of
    # fine-tuning must move the scores their way, starting from the shipped model.
    model = cnn.load(device="cpu")
    clean = next(examples(1, seed=7)).diagram
    bad = degrade(clean, "cramped", random.Random(0))
    images = [render_array(clean), render_array(bad)] * 2
    before = cnn.score_images(model, images[:2])
    losses = finetune_on_ratings(model, images, [1, 5, 1, 5], epochs=4, lr=2e-3, batch_size=4)
    after = cnn.score_images(model, images[:2])
    assert losses[-1] < losses[0]
    assert after[1] - after[0] > before[1] - before[0] + 0.5
    assert not model.training  # left in eval mode for scoring


def test_finetuning_refuses_mismatched_data() -> None:
    with pytest.raises(ValueError):
        finetune_on_ratings(ReadabilityCNN(width=4), [np.zeros((6, 10, 3), np.uint8)], [3, 4])
    assert finetune_on_ratings(ReadabilityCNN(width=4), [], []) == []


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here")
def test_scoring_on_the_gpu_matches_the_cpu(shipped) -> None:
    image = render_array(next(examples(1, seed=5)).diagram)
    on_gpu = cnn.score_images(cnn.load(device="cuda"), [image])
    np.testing.assert_allclose(on_gpu, cnn.score_images(shipped, [image]), atol=1e-3)
