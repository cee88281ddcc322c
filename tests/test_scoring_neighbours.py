"""The neighbour lists and fits kept across requests: the same answer as a fit from scratch,
a new or changed rating refits, and the cache stays bounded."""

import numpy as np
import pytest
from knn_profiles import BLOCKS, population, profile

from engine.scoring import knn, neighbours
from engine.scoring.knn import K, Population, fit, predict


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    neighbours.clear()


def _expected(taste: knn.Taste, seed: int = 5) -> np.ndarray:
    candidates = np.random.default_rng(seed).normal(0, 0.1, (8, 9)).astype(np.float32)
    return predict(taste, candidates, np.linspace(2, 5, 8)).rating


def _from_scratch(rated: np.ndarray, ratings: np.ndarray, prior: np.ndarray) -> np.ndarray:
    neighbours.clear()
    return _expected(fit(rated, ratings, prior, BLOCKS, population()))


@pytest.mark.parametrize("before", [K - 5, K, 80])
def test_lists_extended_as_ratings_arrive_give_the_fit_from_scratch(before: int) -> None:
    rated, ratings, prior = profile(before + 7)
    pop = population()
    fit(rated[:before], ratings[:before], prior[:before], BLOCKS, pop)
    grown = fit(rated[: before + 3], ratings[: before + 3], prior[: before + 3], BLOCKS, pop)
    assert neighbours.kept_rows() == before + 3  # extended: the shorter profile is superseded
    again = fit(rated, ratings, prior, BLOCKS, pop)
    np.testing.assert_allclose(_expected(again), _from_scratch(rated, ratings, prior), rtol=1e-6)
    np.testing.assert_allclose(
        _expected(grown), _from_scratch(rated[: before + 3], ratings[: before + 3],
                                        prior[: before + 3]), rtol=1e-6
    )  # fmt: skip


def test_the_lists_are_each_rows_k_nearest_in_every_block() -> None:
    rated, _, _ = profile(70)
    kept = neighbours.find(rated[:60], BLOCKS)
    grown = neighbours.find(rated, BLOCKS, kept)
    for b, s in enumerate(BLOCKS):
        d2 = ((rated[:, None, s] - rated[None, :, s]) ** 2).sum(axis=2)
        idx, _ = grown.lists(b)
        nearest = np.sort(d2, axis=1)[:, :K]
        np.testing.assert_allclose(np.sort(np.take_along_axis(d2, idx, 1), 1), nearest,
                                   atol=1e-6)  # fmt: skip


def test_a_repeat_is_served_from_the_cache_and_any_change_refits() -> None:
    rated, ratings, prior = profile(40)
    pop = population()
    first = fit(rated, ratings, prior, BLOCKS, pop)
    assert fit(rated.copy(), ratings.copy(), prior.copy(), BLOCKS, pop) is first
    changed = ratings.copy()
    changed[3] = 6 - changed[3]  # the user changed their mind about one diagram
    refit = fit(rated, changed, prior, BLOCKS, pop)
    assert refit is not first
    np.testing.assert_allclose(_expected(refit), _from_scratch(rated, changed, prior), rtol=1e-6)
    neighbours.clear()
    first = fit(rated, ratings, prior, BLOCKS, pop)
    other = fit(rated, ratings, prior, BLOCKS, Population())  # another population
    assert other is not first and not np.allclose(_expected(other), _expected(first))
    new_rating = fit(rated[:39], ratings[:39], prior[:39], BLOCKS, pop)  # a different profile
    assert new_rating is not first


def test_the_cache_is_bounded_and_drops_the_least_recently_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(neighbours, "MAX_ROWS", 100)
    pop = population()
    users = [profile(40, seed) for seed in range(5)]
    tastes = [fit(*u, BLOCKS, pop) for u in users[:2]]
    assert fit(*users[0], BLOCKS, pop) is tastes[0]  # user 0 used last: user 1 goes first
    fit(*users[2], BLOCKS, pop)
    assert neighbours.kept_rows() <= 100
    assert fit(*users[0], BLOCKS, pop) is tastes[0]
    assert fit(*users[1], BLOCKS, pop) is not tastes[1]
    for u in users:
        fit(*u, BLOCKS, pop)
    assert neighbours.kept_rows() <= 100
