"""The patterns' evidence kept and grown as ratings arrive (evidence.py) gives what it gives
from scratch, across moves of the window's start; lists grown in place stay each row's K
nearest, also for a shorter profile asked again and for fits on several threads."""

import threading

import numpy as np
import pytest
from knn_profiles import BLOCKS, population, profile

from engine.scoring import evidence, knn, neighbours
from engine.scoring.knn import fit, predict


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    neighbours.clear()


def _expected(taste: knn.Taste) -> np.ndarray:
    candidates = np.random.default_rng(5).normal(0, 0.1, (8, 9)).astype(np.float32)
    return predict(taste, candidates, np.linspace(2, 5, 8)).rating


def test_the_window_holds_the_last_max_evidence_to_max_evidence_plus_step_ratings() -> None:
    for n in range(1, 400):
        start = evidence.window_start(n)
        assert start % evidence.STEP == 0
        if n <= evidence.MAX_EVIDENCE:
            assert start == 0
        else:
            assert evidence.MAX_EVIDENCE <= n - start < evidence.MAX_EVIDENCE + evidence.STEP
        assert list(evidence.anchors(n))[0] == start
        assert len(evidence.anchors(n)) <= evidence.MAX_EVIDENCE // evidence.STEP + 1


def test_windows_grown_three_ratings_at_a_time_equal_the_evidence_from_scratch() -> None:
    rated, ratings, prior = profile(160)
    pop = population(flat=0.5)
    starts = set()
    for n in range(40, 161, 3):
        taste = fit(rated[:n], ratings[:n], prior[:n], BLOCKS, pop)
        window = taste.windows[0]
        starts.add(window.start)
        assert (window.start, window.end) == (evidence.window_start(n), n)
        e = ratings[:n] - pop.prior(prior[:n])
        rows = slice(window.start, n)
        k = knn.kernels(rated[rows], BLOCKS, prior[rows] - pop.centre)
        scratch = knn.log_evidence(k, e[rows], pop.patterns, pop.noise)
        np.testing.assert_allclose(window.log_evidence, scratch, rtol=1e-6, atol=1e-5)
    assert starts == {0, 25, 50, 75, 100}  # the start moved four times on the way


def test_a_profile_grown_request_by_request_ranks_as_one_fitted_from_scratch() -> None:
    rated, ratings, prior = profile(160)
    pop = population(flat=0.5)
    for n in range(40, 161, 3):
        grown = _expected(fit(rated[:n], ratings[:n], prior[:n], BLOCKS, pop))
        neighbours.clear()
        scratch = _expected(fit(rated[:n], ratings[:n], prior[:n], BLOCKS, pop))
        np.testing.assert_allclose(grown, scratch, rtol=0, atol=1e-6)
        neighbours.clear()
        for m in range(40, n + 1, 3):  # the cache as the grown profile left it
            fit(rated[:m], ratings[:m], prior[:m], BLOCKS, pop)


def test_lists_grown_in_place_leave_no_stale_answer_for_a_shorter_profile() -> None:
    rated, ratings, prior = profile(140)
    pop = population(flat=0.5)
    fit(rated[:60], ratings[:60], prior[:60], BLOCKS, pop)
    for n in range(63, 141, 7):  # past the storage's room: copied once on the way
        fit(rated[:n], ratings[:n], prior[:n], BLOCKS, pop)
    shorter = _expected(fit(rated[:60], ratings[:60], prior[:60], BLOCKS, pop))
    longer = _expected(fit(rated[:140], ratings[:140], prior[:140], BLOCKS, pop))
    neighbours.clear()
    np.testing.assert_allclose(shorter, _expected(fit(rated[:60], ratings[:60], prior[:60],
                                                      BLOCKS, pop)), atol=1e-9)  # fmt: skip
    neighbours.clear()
    np.testing.assert_allclose(longer, _expected(fit(rated, ratings, prior, BLOCKS, pop)),
                               atol=1e-6)  # fmt: skip


def test_fits_of_one_growing_profile_on_several_threads_give_the_answers_from_scratch() -> None:
    rated, ratings, prior = profile(120)
    pop = population(flat=0.5)
    sizes = list(range(40, 121, 4))
    truth = {}
    for n in sizes:
        neighbours.clear()
        truth[n] = _expected(fit(rated[:n], ratings[:n], prior[:n], BLOCKS, pop))
    neighbours.clear()
    wrong: list[int] = []

    def user(order: list[int]) -> None:
        for n in order:
            got = _expected(fit(rated[:n], ratings[:n], prior[:n], BLOCKS, pop))
            if not np.allclose(got, truth[n], atol=1e-6):
                wrong.append(n)

    orders = [sizes, sizes[::-1], sizes[::2] + sizes[1::2], sizes]
    threads = [threading.Thread(target=user, args=(o,)) for o in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


def test_the_cache_counts_the_evidence_windows_in_its_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pop = population(flat=0.5)
    first = fit(*profile(70, 0), BLOCKS, pop)
    one_user = neighbours.kept_bytes()
    assert one_user > sum(w.nbytes for w in first.windows) > 0
    monkeypatch.setattr(neighbours, "MAX_BYTES", int(2.5 * one_user))
    for seed in range(1, 6):
        fit(*profile(70, seed), BLOCKS, pop)
        assert neighbours.kept_bytes() <= 2.5 * one_user
    assert neighbours.kept_rows() == 2 * 70  # the last two users
