"""The worker pool reads, draws and scores candidates as the scoring thread does."""

import os

import numpy as np
import pytest

from diagrammer.commands.bench_scoring import _requests, _sampled
from engine.llm.generate import Generation
from engine.pipeline import read, read_many
from engine.scoring.profile import Models, Profile
from engine.scoring.user_rank import UserRanker
from engine.scoring.workers import Pool


@pytest.fixture(scope="module")
def models() -> Models:
    return Models.shipped("cpu")


@pytest.fixture(scope="module")
def pool(models: Models):
    pool = Pool(models, 2)
    yield pool
    pool.close()


def test_the_pool_reads_like_read_and_scores_like_the_thread(models, pool) -> None:
    sampled = _sampled(_requests(3, 1, 3))  # networks, flows, a catalogue entry...
    items = [(g, s) for s, b in zip(sampled.specs, sampled.generations, strict=True) for g in b]
    items.append((Generation("no diagram here", 3, True, 0.0), None))
    got = pool.prepare(items)
    for (gen, spec), (c, drawn) in zip(items, got, strict=True):
        alone = read(gen, spec)
        assert c.node_text == alone.node_text and c.problems == alone.problems
        assert c.metrics == alone.metrics and c.fidelity == alone.fidelity
        assert (drawn is None) == (not alone.parsed)
        if drawn is not None:  # the CPU workers scored it; the PNG is render()'s
            assert drawn.readability is not None and drawn.latent is not None
            assert drawn.image is None and drawn.png[:8] == b"\x89PNG\r\n\x1a\n"
    assert got[-1][1] is None and not got[-1][0].parsed


def test_read_many_with_the_pool_ranks_and_draws_the_same(models, pool) -> None:
    sampled = _sampled(_requests(4, 1, 5))
    rng = np.random.default_rng(0)
    first = read_many(sampled, [UserRanker(models, Profile.empty(models.dim), 3)] * 5)
    emb = np.stack([c.embedding for c in first[0].candidates])
    profile = Profile(emb, rng.integers(1, 6, len(emb)).astype(float), np.full(len(emb), 3.0))
    rankers = [UserRanker(models, profile, 3) for _ in sampled.texts]
    alone, pooled = read_many(sampled, rankers), read_many(sampled, rankers, pool)
    for a, b in zip(alone, pooled, strict=True):
        assert [c.text for c in a.candidates] == [c.text for c in b.candidates]
        assert [c.png for c in a.candidates] == [c.png for c in b.candidates]
        assert sum(c.png is not None for c in b.candidates) == 3
        for x, y in zip(a.candidates, b.candidates, strict=True):
            assert x.cnn_readability == pytest.approx(y.cnn_readability, abs=1e-5)
            assert x.expected_rating == pytest.approx(y.expected_rating, abs=1e-5)
            np.testing.assert_allclose(x.embedding, y.embedding, atol=1e-5)


def test_scorers_left_to_the_engine_process_score_the_batch_at_once(models, pool) -> None:
    """As on a GPU host: the workers read and draw, the pool scores the whole batch here."""
    sampled = _sampled(_requests(2, 0, 9))
    items = [(g, s) for s, b in zip(sampled.specs, sampled.generations, strict=True) for g in b]
    here = Pool(models, 2, score_there=False)
    try:
        for (a, x), (b, y) in zip(pool.prepare(items), here.prepare(items), strict=True):
            assert a.node_text == b.node_text and x.png == y.png
            assert x.readability == pytest.approx(y.readability, abs=1e-5)
            np.testing.assert_allclose(x.latent, y.latent, atol=1e-5)
    finally:
        here.close()


def test_a_pool_serves_only_the_scorers_it_was_made_with(models, pool) -> None:
    assert pool.serves(Models(models.cnn, models.embedder))
    assert not pool.serves(Models(models.cnn, None))


def test_the_engine_scores_in_workers_by_default_only_beside_a_gpu() -> None:
    from engine.service.config import Settings
    from engine.service.pipeline_backend import score_workers

    default = Settings(secret="s")
    assert score_workers(default, "cpu") == 0  # the model thread needs the cores there
    assert score_workers(default, "cuda:0") == (os.cpu_count() or 1)
    assert score_workers(Settings(secret="s", score_workers=3), "cpu") == 3
    assert score_workers(Settings(secret="s", score_workers=0), "cuda") == 0
