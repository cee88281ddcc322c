"""The simulated-user benchmark's parts: tastes, ratings, and the ranker learning one user."""

import numpy as np
import pytest

from engine.diagram.model import Diagram
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


@pytest.mark.parametrize("family", sim.FAMILIES)
def test_every_taste_family_is_standardised_and_reads_its_attribute(
    pool: sim.Pool, family: str
) -> None:
    user = sim.make_user(pool, np.random.default_rng(1), family)
    sd = sim.FLAT_SD if family == "flat" else sim.TASTE_SD
    assert user.family == family and user.taste.std() == pytest.approx(sd)
    f = pool.features
    read = {"labels": f["labelled"], "contrast": f["contrast"], "lines": f["line L"]}
    if family in read and read[family].std() > 0:  # the attribute it is about moves it
        assert abs(np.corrcoef(user.taste, read[family])[0, 1]) > 0.5
    if family == "kind-dir":  # within one kind, the direction alone sets the taste
        for kind in np.unique(f["kind"]):
            one = f["kind"] == kind
            assert len(np.unique(user.taste[one & (f["down"] == 1)])) <= 1
            assert len(np.unique(user.taste[one & (f["down"] == 0)])) <= 1


def test_the_pool_spreads_beyond_the_curated_palette(pool: sim.Pool) -> None:
    f = pool.features
    assert any(look.palette == "other" for look in pool.looks)  # continuous fills
    assert f["line L"].max() > 50  # pale lines among them
    assert {look.kind for look in pool.looks} <= {"network", "stack", "flow"}


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
    assert list(result["families"]) == list(sim.FAMILIES[:2])  # users take families in turn
    assert all([r["ratings"] for r in rows] == [1, 5] for rows in result["families"].values())
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


def test_the_content_blocks_tell_arrows_from_plain_lines_where_pixels_barely_do() -> None:
    from dataclasses import replace

    from engine.diagram.layout import layout
    from engine.diagram.render import render_array
    from engine.diagram.sketch import Sketch
    from engine.scoring import content

    arrows = layout(Sketch(layers=(3, 5, 2), line_style="solid arrow"))
    lines = Diagram(tuple(replace(n, line_style="solid line") for n in arrows.nodes))
    assert content.describe(arrows).tolist() == content.describe(arrows).tolist()
    np.testing.assert_allclose(content.describe(arrows)[content.BLOCKS["lines"]], [1, 0, 0])
    np.testing.assert_allclose(content.describe(lines)[content.BLOCKS["lines"]], [0, 1, 0])
    embedder = autoencoder.load(device="cpu")
    image = embedder.embed([render_array(d) for d in (arrows, lines)])
    both = content.combine(image, embedder.blocks, [arrows, lines])
    blocks = content.blocks(embedder.blocks)
    assert both.shape[1] == blocks[-1].stop == embedder.dim + content.SIZE
    assert np.linalg.norm(both[0] - both[1]) > 5 * np.linalg.norm(image[0] - image[1])
    assert np.linalg.norm(both[0] - both[1]) > 0.2  # two random diagrams: about 1 apart


def test_the_content_scales_still_fit_the_generator() -> None:
    from engine.scoring import content
    from training.train_ae import sample_diagrams

    fitted = content.fit_scales(sample_diagrams(150, seed=1, progress=False))
    for name, (mean, sd) in content.STANDARD.items():
        assert fitted["standard"][name][0] == pytest.approx(mean, abs=0.3 * sd), name
        assert fitted["standard"][name][1] == pytest.approx(sd, rel=0.3), name
    for name, scale in content.SCALES.items():
        if name not in content.TIED:
            assert fitted["scales"][name] == pytest.approx(scale, rel=0.3), name


def test_everyones_ratings_teach_the_population_the_judged_users_get(pool: sim.Pool) -> None:
    from engine.scoring import population

    histories = sim.everyone(pool, n_users=3, seed=1, n_ratings=12, n_eval=3)
    assert [len(h.ratings) for h in histories] == [12, 12, 12]
    for h in histories:
        assert np.isfinite(h.shown_expected).all()
        assert h.embeddings.shape[1] == pool.embeddings.shape[1]
    learnt = population.learn(histories, pool.blocks, noises=(0.6,))
    assert learnt.fits(len(pool.blocks)) and learnt.patterns is not None
    result = sim.simulate(
        pool, 2, 0, progress=False, n_eval=3, checkpoints=(1, 5), population=learnt
    )
    assert [r["ratings"] for r in result["rows"]] == [1, 5]
    image = sim.image_only(pool)
    assert image.embeddings.shape[1] == image.blocks[-1].stop < pool.embeddings.shape[1]


def test_score_with_diagrams_embeds_their_content_too() -> None:
    from engine.diagram.layout import layout
    from engine.diagram.render import render_array
    from engine.diagram.sketch import Sketch
    from engine.scoring import content
    from engine.scoring.profile import Profile, score

    looks = ((3, "circle"), (4, "rectangle"))
    diagrams = [layout(Sketch(layers=(2, n), shape=shape)) for n, shape in looks]
    images = [render_array(d) for d in diagrams]
    seen = score(images, diagrams=diagrams)
    assert all(len(s.embedding) == autoencoder.load().dim + content.SIZE for s in seen)
    profile = Profile(np.stack([s.embedding for s in seen]), np.array([5.0, 1.0]), np.zeros(2))
    mine = score(images, profile, diagrams=diagrams)
    assert mine[0].expected > mine[1].expected
