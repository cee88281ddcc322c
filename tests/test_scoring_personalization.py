"""The simulated-user benchmark's parts: tastes, ratings, and the ranker learning one user."""

import numpy as np
import pytest

from engine.scoring import autoencoder, cnn
from training import simulate_users as sim


@pytest.fixture(scope="module")
def pool() -> sim.Pool:
    embedder, model = autoencoder.load(device="cpu"), cnn.load(device="cpu")
    return sim.build_pool(10, embedder, model, seed=3, progress=False, n_candidates=5)


def test_pool_is_scored_once_for_every_candidate(pool: sim.Pool) -> None:
    n = sum(len(r) for r in pool.requests)
    assert n == 50 and len(pool.looks) == n == len(pool.cnn) == len(pool.embeddings)
    assert ((pool.cnn >= 0) & (pool.cnn <= 5)).all()
    assert ((pool.readability >= 0) & (pool.readability <= 1)).all()
    assert {look.orientation for look in pool.looks} <= {"right", "down"}


def test_a_user_has_a_standardised_taste_and_rates_in_whole_stars(pool: sim.Pool) -> None:
    rng = np.random.default_rng(0)
    user = sim.make_user(pool, rng)
    assert abs(user.taste.mean()) < 1e-9 and user.taste.std() == pytest.approx(sim.TASTE_SD)
    true = user.true(list(range(len(pool.looks))))
    assert ((true >= 1) & (true <= 5)).all()
    ratings = {user.rate(i, rng) for i in range(len(pool.looks))}
    assert ratings <= {1.0, 2.0, 3.0, 4.0, 5.0}
    worst = int(np.argmin(pool.readability))
    if pool.readability[worst] < 0.7:  # a badly degraded candidate costs stars
        assert user.quality[worst] < -0.9


def test_simulation_reports_every_checkpoint(pool: sim.Pool) -> None:
    result = sim.simulate(pool, n_users=2, seed=0, progress=False, n_eval=3, checkpoints=(1, 5))
    assert [r["ratings"] for r in result["rows"]] == [1, 5]
    for row in result["rows"]:
        t = row["top1"]
        assert t["random"] <= t["oracle"] and t["ranker"] <= t["oracle"]
        assert 0.0 <= row["pairwise_accuracy"] <= 1.0


def test_profile_scores_candidates_for_a_user_with_the_shipped_models(pool: sim.Pool) -> None:
    from engine.diagram.layout import layout
    from engine.diagram.render import render_array
    from engine.diagram.sketch import Sketch
    from engine.scoring.profile import Profile, score

    red = layout(Sketch(layers=(2, 3), fill=(255, 205, 210)))
    blue = layout(Sketch(layers=(2, 3), fill=(187, 222, 251)))
    images = [render_array(red), render_array(blue)]
    anyone = score(images)
    assert all(0 <= s.readability <= 5 and s.confidence == 0.0 for s in anyone)
    # A user who rated five red diagrams 5 and five blue ones 1 (similar structures).
    rated = [render_array(layout(Sketch(layers=(2, n), fill=f))) for n in (2, 3, 4, 5, 6)
             for f in ((255, 205, 210), (187, 222, 251))]  # fmt: skip
    seen = score(rated)
    profile = Profile(
        np.stack([s.embedding for s in seen]),
        np.array([5.0, 1.0] * 5),
        np.array([s.readability for s in seen]),
    )
    mine = score(images, profile)
    assert mine[0].expected - mine[1].expected > anyone[0].expected - anyone[1].expected + 1.0
    assert mine[0].confidence > 0.1
