"""Per-user expected rating: kNN over the user's own ratings, shrunk toward a prior."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine.scoring import knn, neighbours, population
from engine.scoring.knn import LAMBDA, K, Population, Taste, expected_ratings, fit, predict
from engine.scoring.population import History

RED, BLUE = np.array([1.0, 0.0]), np.array([0.0, 1.0])


def _user(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A user who loves red (rates it 5) and dislikes blue (rates it 1), n ratings of each."""
    noise = rng.normal(0, 0.05, (2 * n, 2))
    rated = np.vstack([np.tile(RED, (n, 1)), np.tile(BLUE, (n, 1))]) + noise
    return rated, np.array([5.0] * n + [1.0] * n)


def test_a_user_who_loves_red_expects_more_of_red() -> None:
    rated, ratings = _user(10, np.random.default_rng(0))
    out = expected_ratings(rated, ratings, np.array([RED, BLUE]), prior=3.0)
    assert out.rating[0] > 4.5 and out.rating[1] < 1.5
    assert out.confidence.min() > 0.7


def test_no_ratings_gives_the_prior_with_no_confidence() -> None:
    out = expected_ratings(np.zeros((0, 2)), np.zeros(0), np.array([RED, BLUE]), [2.0, 4.0])
    np.testing.assert_allclose(out.rating, [2.0, 4.0])
    np.testing.assert_allclose(out.confidence, [0.0, 0.0])


def test_few_ratings_are_shrunk_toward_the_prior_and_confidence_grows() -> None:
    rng = np.random.default_rng(1)
    ratings_of_red, confidences = [], []
    for n in (1, 2, 5, 20):
        rated, ratings = _user(n, rng)
        out = expected_ratings(rated, ratings, RED[None], prior=3.0)
        ratings_of_red.append(out.rating[0])
        confidences.append(out.confidence[0])
    # One rating of 5 moves it, but only part of the way (the default library's evidence
    # may already favour a larger taste variance than the plain default: 4.2 here).
    assert 3.0 < ratings_of_red[0] < 4.5
    assert ratings_of_red == sorted(ratings_of_red)
    assert confidences == sorted(confidences) and confidences[-1] > 0.8


def test_far_from_everything_rated_stays_at_the_prior() -> None:
    rated, ratings = _user(20, np.random.default_rng(2))  # as many 5s as 1s: no overall bias
    out = expected_ratings(rated, ratings, np.array([[10.0, 10.0]]), prior=3.0)
    assert out.rating[0] == pytest.approx(3.0, abs=1e-6)
    assert out.confidence[0] < 1e-6


def test_only_the_k_nearest_count_and_the_result_stays_on_the_rating_scale() -> None:
    # K ratings of 1 right at the candidate, 50 of 5 just beyond them, 50 of 1 far away.
    near, beyond, far = np.zeros((K, 2)), np.full((50, 2), 0.05), np.full((50, 2), 100.0)
    rated = np.vstack([near, beyond, far])
    ratings = np.array([1.0] * K + [5.0] * 50 + [1.0] * 50)
    out = expected_ratings(rated, ratings, np.zeros((1, 2)), prior=3.0)
    assert out.rating[0] < 2.0  # had the 5s just beyond been read, it would be well above 3
    out = expected_ratings(rated, ratings, np.zeros((1, 2)), prior=9.0)
    assert 1.0 <= out.rating[0] <= 5.0


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        expected_ratings(np.zeros((3, 2)), np.zeros(2), np.zeros((1, 2)), 3.0)


def test_a_generous_user_shifts_everything_but_unrated_looks_do_not_beat_liked_ones() -> None:
    # Rates red 5 and green 4 where anyone would give 3: a bias of about +1.5 ...
    rated = np.array([[1.0, 0.0]] * 10 + [[0.0, 1.0]] * 10)
    ratings = np.array([5.0] * 10 + [4.0] * 10)
    cands = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    out = expected_ratings(rated, ratings, cands, prior=[3.0, 3.0, 3.0], rated_prior=3.0)
    red, green, unseen = out.rating
    assert red > green > 3.0
    # ... and a look never rated gets the prior plus that bias, below what the user loves.
    assert 3.0 < unseen < red
    assert out.confidence[2] < 0.01


def test_the_prior_carries_readability_the_neighbours_carry_taste() -> None:
    # Two candidates look alike (same neighbours) but one is less readable (lower prior).
    rated = np.zeros((5, 2))
    out = expected_ratings(rated, np.full(5, 4.0), np.zeros((2, 2)), [4.0, 2.0], [3.0] * 5)
    assert out.rating[0] - out.rating[1] == pytest.approx(2.0, abs=1e-6)


def test_taste_adds_up_over_blocks_where_plain_knn_cannot_extrapolate() -> None:
    # Dims 0-1 colour (red / blue), dims 2-3 shape (circle / square); the user likes red by
    # +1 and circles by +0.5 but has never seen a red circle.
    red, blue, circle, square = [1, 0], [0, 1], [1, 0], [0, 1]
    rated = np.array([red + square, blue + square, blue + circle] * 4, dtype=float)
    ratings = np.array([3.5, 1.5, 2.5] * 4)
    cands = np.array([red + circle, red + square])
    blocks = [slice(0, 2), slice(2, 4)]
    additive = expected_ratings(rated, ratings, cands, prior=2.5, blocks=blocks).rating
    plain = expected_ratings(rated, ratings, cands, prior=2.5).rating
    assert additive[0] > additive[1] > 3.0  # red circle above red square
    assert plain[0] < plain[1]  # one block: the unseen combination is only an average


# --- what everyone's ratings teach (knn.Population, population.py) -----------------------

COLOUR, SHAPE = slice(0, 2), slice(2, 4)


def _styled(n: int, rng: np.random.Generator) -> np.ndarray:
    """n diagrams, each one of two colours (dims 0-1) and one of two shapes (dims 2-3)."""
    colour = np.eye(2)[rng.integers(0, 2, n)]
    shape = np.eye(2)[rng.integers(0, 2, n)]
    return np.hstack([colour, shape]) * 0.5


def _histories(n_users: int, n: int, rng: np.random.Generator) -> list[History]:
    """Users who care about colour only or about shape only (half each), prior 3."""
    out = []
    for u in range(n_users):
        x = _styled(n, rng)
        cared = x[:, COLOUR] if u % 2 == 0 else x[:, SHAPE]
        likes = rng.normal(0, 1.5, 2)
        ratings = 3.0 + 2 * cared @ likes + rng.normal(0, 0.4, n)
        out.append(History(x, ratings, np.full(n, 3.0)))
    return out


def test_everyones_ratings_teach_which_block_a_new_user_cares_about() -> None:
    rng = np.random.default_rng(0)
    pop = population.learn(_histories(24, 30, rng), [COLOUR, SHAPE], noises=(0.4,))
    assert pop.patterns is not None and pop.patterns.shape[1] == 4  # 2 blocks, slope, bias
    # A new user who cares about colour only: after 12 ratings the shape block is shrunk
    # far harder than the colour block, so shape noise barely moves the estimate.
    x = _styled(12, rng)
    ratings = 3.0 + 2 * x[:, COLOUR] @ np.array([1.5, -1.5]) + rng.normal(0, 0.4, 12)
    taste = fit(x, ratings, 3.0, [COLOUR, SHAPE], pop)
    assert taste.shrink[1] > 5 * taste.shrink[0]
    # Without a population the default library (one block cared about, or all alike) finds
    # it too, from the user's own ratings; the plain default shrank both blocks alike.
    plain = fit(x, ratings, 3.0, [COLOUR, SHAPE])
    assert plain.shrink[1] > 5 * plain.shrink[0]
    loved = np.array([[0.5, 0.0, 0.5, 0.0], [0.5, 0.0, 0.0, 0.5]])  # the liked colour
    hated = np.array([[0.0, 0.5, 0.5, 0.0]])
    got = predict(taste, np.vstack([loved, hated]), 3.0).rating
    assert got[0] - got[2] > 2.0 and abs(got[0] - got[1]) < 0.3


def test_the_prior_is_calibrated_where_people_were_shown_and_kept_below() -> None:
    pop = Population(slope=0.5, offset=2.0, floor=3.0)
    np.testing.assert_allclose(pop.prior(np.array([5.0, 3.0, 2.0])), [4.5, 3.5, 2.5])
    assert Population().prior(4.2) == pytest.approx(4.2)


def test_calibration_holds_what_the_ranker_picked_on_fixed() -> None:
    # Ratings rise 0.6 per prior point; the ranker showed what prior + expected taste put
    # first, so among the shown a high prior goes with a low taste.
    rng = np.random.default_rng(1)
    prior, taste = rng.uniform(2, 5, 20_000), rng.normal(0, 1, 20_000)
    shown = prior + taste > 5.0
    ratings = 1.0 + 0.6 * prior + taste + rng.normal(0, 0.3, 20_000)
    seen = [History(np.zeros((shown.sum(), 1)), ratings[shown], prior[shown])]
    assert population.calibrate(seen).slope < 0.45  # the prior alone: biased low
    known = [replace(seen[0], shown_expected=(prior + taste)[shown])]
    calibrated = population.calibrate(known)
    assert calibrated.slope == pytest.approx(0.6, abs=0.05)
    assert calibrated.floor == pytest.approx(np.percentile(prior[shown], 5))


def test_a_population_survives_a_round_trip_and_one_for_other_blocks_is_ignored(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(2)
    pop = population.learn(_histories(6, 15, rng), [COLOUR, SHAPE], noises=(0.4,))
    population.save(pop, tmp_path / "population.json")
    back = population.load(tmp_path / "population.json")
    assert back.slope == pop.slope and back.floor == pop.floor
    np.testing.assert_allclose(back.patterns, pop.patterns)
    x = _styled(8, rng)
    ratings = rng.integers(1, 6, 8).astype(float)
    one_block = fit(x, ratings, 3.0, None, back)  # learnt for two blocks: the default one
    assert one_block.population == Population()


# --- each user's own slope on the prior ------------------------------------------------------


def _sloped(n_users: int, n: int, rng: np.random.Generator) -> list[History]:
    """Users who follow the prior one for one (even) or ignore it (odd), no taste."""
    out = []
    for u in range(n_users):
        prior = rng.uniform(1.5, 5.0, n)
        slope = 1.0 if u % 2 == 0 else 0.0
        ratings = 3.0 + slope * (prior - 3.0) + rng.normal(0, 0.4, n)
        out.append(History(_styled(n, rng), ratings, prior))
    return out


def _per_prior_point(taste: Taste) -> float:
    """How much the expected rating rises per point of prior, on a fresh diagram."""
    x = np.zeros((2, 4))
    got = predict(taste, x, np.array([2.0, 4.0])).rating
    return float(got[1] - got[0]) / 2.0


def test_a_user_who_rates_readability_gets_it_back_when_everyones_slope_collapsed() -> None:
    rng = np.random.default_rng(3)
    collapsed = Population(slope=0.1, offset=2.7, centre=3.0)
    prior = rng.uniform(1.5, 5.0, 20)
    steep = 3.0 + (prior - 3.0) + rng.normal(0, 0.4, 20)
    taste = fit(_styled(20, rng), steep, prior, [COLOUR, SHAPE], collapsed)
    assert taste.slope > 0.5 and _per_prior_point(taste) > 0.6
    flat = 3.0 + rng.normal(0, 0.4, 20)
    indifferent = fit(_styled(20, rng), flat, prior, [COLOUR, SHAPE], collapsed)
    assert abs(_per_prior_point(indifferent)) < 0.3


def test_the_population_learns_how_far_slopes_stray_and_each_user_finds_theirs() -> None:
    rng = np.random.default_rng(4)
    pop = population.learn(_sloped(30, 30, rng), [COLOUR, SHAPE], noises=(0.4,))
    assert 0.3 < pop.slope < 0.7 and 2.5 < pop.centre < 3.7
    prior = rng.uniform(1.5, 5.0, 20)
    steep = 3.0 + (prior - 3.0) + rng.normal(0, 0.4, 20)
    flat = 3.0 + rng.normal(0, 0.4, 20)
    rises = [_per_prior_point(fit(_styled(20, rng), r, prior, [COLOUR, SHAPE], pop))
             for r in (steep, flat)]  # fmt: skip
    assert rises[0] > 0.8 and rises[1] < 0.25


# --- near-indifferent users fall back to the readability prior ------------------------------


def test_a_near_indifferent_user_falls_back_to_readability_and_a_taste_keeps_its_trust() -> None:
    rng = np.random.default_rng(5)
    pop = population.learn(_histories(24, 30, rng), [COLOUR, SHAPE], noises=(0.4,))
    x = _styled(20, rng)
    prior = rng.uniform(2.0, 4.5, 20)
    noise_only = pop.prior(prior) + rng.normal(0, 0.4, 20)  # ratings: readability and noise
    flat = fit(x, noise_only, prior, [COLOUR, SHAPE], pop)
    assert flat.trust < 0.5
    cared = 3.0 + 2 * x[:, COLOUR] @ np.array([1.5, -1.5]) + rng.normal(0, 0.4, 20)
    assert fit(x, cared, prior, [COLOUR, SHAPE], pop).trust > 0.99
    # Whatever the neighbours' noise, the flat user's candidates come in readability order.
    cands = _styled(30, rng)
    cand_prior = rng.uniform(2.0, 4.5, 30)
    got = predict(flat, cands, cand_prior).rating
    assert np.corrcoef(got, cand_prior)[0, 1] > 0.95
    never = fit(x, noise_only, prior, [COLOUR, SHAPE], replace(pop, flat=0.0))
    assert never.trust == 1.0


def test_a_near_indifferent_user_noisier_than_everyone_still_ranks_as_readability_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(8)
    pop = population.learn(_histories(24, 30, rng), [COLOUR, SHAPE], noises=(0.4,))
    x = _styled(20, rng)
    prior = rng.uniform(2.0, 4.5, 20)
    # Whole stars around readability: they scatter by ~0.6, more than the learnt noise.
    stars = np.clip(np.round(pop.prior(prior) + rng.normal(0, 0.5, 20)), 1, 5)
    flat = fit(x, stars, prior, [COLOUR, SHAPE], pop)
    cands, cand_prior = _styled(40, rng), rng.uniform(2.0, 4.5, 40)
    got = predict(flat, cands, cand_prior).rating
    apart = np.abs(cand_prior[:, None] - cand_prior[None, :]) > 0.25
    agree = np.sign(got[:, None] - got[None, :]) == np.sign(cand_prior[:, None] - cand_prior)
    assert flat.trust < 0.1 and agree[apart].mean() > 0.995  # 0.98 with the old hypothesis
    # The flat hypothesis at the population's own noise alone lets the taste terms in.
    neighbours.clear()
    monkeypatch.setattr(knn, "FLAT_NOISES", (1.0,))
    assert fit(x, stars, prior, [COLOUR, SHAPE], pop).trust > 2 * flat.trust


def test_without_a_population_a_near_indifferent_user_ranks_as_readability_does() -> None:
    rng = np.random.default_rng(8)
    x = _styled(20, rng)
    prior = rng.uniform(2.0, 4.5, 20)
    stars = np.clip(np.round(prior + rng.normal(0, 0.5, 20)), 1, 5)  # readability and noise
    flat = fit(x, stars, prior, [COLOUR, SHAPE])
    cands, cand_prior = _styled(40, rng), rng.uniform(2.0, 4.5, 40)
    got = predict(flat, cands, cand_prior).rating
    apart = np.abs(cand_prior[:, None] - cand_prior[None, :]) > 0.25
    agree = np.sign(got[:, None] - got[None, :]) == np.sign(cand_prior[:, None] - cand_prior)
    assert flat.trust < 0.2 and agree[apart].mean() > 0.99
    # A user with a taste keeps it: trust near 1, and the liked colour ranks first.
    cared = 3.0 + 2 * x[:, COLOUR] @ np.array([1.5, -1.5]) + rng.normal(0, 0.4, 20)
    taste = fit(x, cared, prior, [COLOUR, SHAPE])
    assert taste.trust > 0.99
    liked = predict(taste, np.array([[0.5, 0.0, 0.5, 0.0], [0.0, 0.5, 0.5, 0.0]]), 3.0).rating
    assert liked[0] - liked[1] > 2.0


def test_the_default_library_is_kept_and_holds_every_block_alike_and_each_alone() -> None:
    pop = Population()
    lib = knn.default_library(pop, 3)
    assert knn.default_library(pop, 3) is lib  # the evidence windows grow only for the same
    assert lib.shape == (len(knn.DEFAULT_SCALES) + 3, 3 + knn.EXTRA_TERMS)
    default = pop.noise**2 / LAMBDA
    assert lib[0, :3] == pytest.approx([default] * 3)
    single = lib[len(knn.DEFAULT_SCALES) :, :3]
    assert np.diag(single) == pytest.approx([default * knn.ONE_BLOCK[0]] * 3)
    assert single[0, 1] == pytest.approx(default * knn.ONE_BLOCK[1])
