"""CNN readability: 0..5 output, the shipped model prefers clean diagrams, fine-tuning works,
a model keeps its own input size, and the training data, losses and metrics are right."""

import json
import random

import numpy as np
import pytest
import torch

from engine.diagram.metrics import metrics
from engine.diagram.render import render_array
from engine.scoring import cnn
from engine.scoring.cnn import ReadabilityCNN, finetune_on_ratings, rating_to_target
from engine.scoring.preprocess import INPUT_H, INPUT_W
from training import train_cnn
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


def test_a_saved_model_keeps_its_input_size_and_old_configs_load_as_160_by_96(tmp_path) -> None:
    torch.manual_seed(0)
    image = render_array(next(examples(1, seed=3)).diagram)
    model = ReadabilityCNN(width=4, size=(250, 150), levels=5).eval()
    cnn.save(model, tmp_path / "new")
    loaded = cnn.load(tmp_path / "new", device="cpu")
    assert (loaded.input_size, loaded.levels) == ((250, 150), 5)
    np.testing.assert_allclose(
        cnn.score_images(loaded, [image]), cnn.score_images(model, [image]), atol=1e-6
    )
    # The first shipped model's config named only its width.
    cnn.save(ReadabilityCNN(width=4), tmp_path / "old")
    config = tmp_path / "old" / "config.json"
    config.write_text(json.dumps({"width": 4}))
    old = cnn.load(tmp_path / "old", device="cpu")
    assert (old.input_size, old.levels) == ((INPUT_W, INPUT_H), 4)
    assert cnn.score_images(old, [image]).shape == (1,)


def test_pairwise_accuracy_counts_every_pair_once_and_ties_as_wrong() -> None:
    label = np.array([0.0, 1.0, 2.0, 3.0])
    pred = np.array([1.0, 2.0, 3.0, 3.0])  # right order, but the top two tie
    assert train_cnn.pairwise_accuracy(pred, label, 0.5) == pytest.approx(5 / 6)
    assert train_cnn.pairwise_accuracy(pred, label, 1.5) == 1.0  # pairs 0-2, 0-3, 1-3
    assert train_cnn.pairwise_accuracy(-pred, label, 0.5) == 0.0
    assert np.isnan(train_cnn.pairwise_accuracy(pred, label, 9.0))


def test_the_ranking_loss_prefers_the_labels_order() -> None:
    label = torch.tensor([1.0, 2.0, 4.0])
    right, wrong = torch.tensor([1.0, 2.0, 4.0]), torch.tensor([4.0, 2.0, 1.0])
    assert train_cnn.ranking_loss(right, label) < 0.05 < train_cnn.ranking_loss(wrong, label)
    flat = torch.tensor([1.0, 1.1], requires_grad=True)
    tied = train_cnn.ranking_loss(flat, torch.tensor([3.0, 3.1]))  # closer than RANK_GAP
    tied.backward()
    assert float(tied.detach()) == 0.0 and flat.grad is not None


def test_training_data_comes_from_each_sources_own_seed() -> None:
    # So rendering in parallel workers gives the same data as one process, in any order.
    data = train_cnn.labelled_set(2, 6, seed=5, size=(160, 96), progress=False)
    inputs, labels, kinds = train_cnn._source_set((1, 5, 6, (160, 96)))
    np.testing.assert_array_equal(data.inputs[7:], inputs)
    np.testing.assert_array_equal(data.labels[7:], labels)
    assert list(data.kind[7:]) == kinds and sorted(kinds[1:]) == sorted(KINDS)
    assert list(data.source) == [0] * 7 + [1] * 7
    assert data.inputs.dtype == np.uint8 and data.inputs.shape == (14, 3, 96, 160)
    assert labels[0] == labels.max()  # the clean one reads best


def test_a_tiny_training_run_saves_a_loadable_model_and_a_report(tmp_path) -> None:
    cfg = train_cnn.CnnConfig(
        out=tmp_path / "cnn", n_clean=10, epochs=1, batch_size=8, width=4, size=(160, 96),
        levels=4, rank_weight=1.0, test_clean=2, device="cpu", threads=1, workers=1,
    )  # fmt: skip
    report = train_cnn.train(cfg, tmp_path / "report", log=lambda line: None)
    model = cnn.load(tmp_path / "cnn", device="cpu")
    assert model.input_size == (160, 96) and (tmp_path / "report" / "cnn_report.json").exists()
    assert report["n_train"] + report["n_held_out"] == 70 and report["n_held_out"] == 7
    assert set(report["test"]["pairwise_by_margin"]) == {"0.25", "0.5", "1.0", "1.5"}
    assert "| overlap |" in train_cnn.table(report["test"])
