"""The ORPO demonstration's raters: tastes, stars and per-taste measures, on real candidates
read by the pipeline from hand-written sketches (no model)."""

import random
from dataclasses import replace

import pytest

from engine.llm.generate import Generation
from engine.pipeline import DrawResult, read
from training import simulate_ratings as sim

DASHED_ROUND = "layers: 3 4 2\nshape: round rectangle 52x40\nline: dashed line 30 30 30"
SOLID_CIRCLE = "layers: 3 4 2\nshape: circle 40x40\nline: solid arrow 60 60 60"


def candidate(text: str, rank: int = 1):
    return replace(read(Generation(text, 20, True, 0.1), None), rank=rank)


def result(*texts: str) -> DrawResult:
    cands = [candidate(t, k + 1) for k, t in enumerate(texts)]
    return DrawResult("an MLP 3 4 2", None, "p", cands, {}, "m", None)


def test_tastes_are_read_and_bad_ones_refused():
    assert sim.parse_tastes("dashed:3, round:1", "round") == [("dashed", 3), ("round", 1)]
    assert sim.parse_tastes(None, "dashed") == [("dashed", sim.RATERS)]
    for bad in ("dashed", "dashed:0", "wavy:2", "round:x"):
        with pytest.raises(ValueError):
            sim.parse_tastes(bad, "round")
    users = sim.raters([("dashed", 2), ("round", 1)])
    assert [u for u, _ in users] == ["dashed0", "dashed1", "round0"]


def test_each_rater_prefers_their_own_trait():
    liked, other = candidate(DASHED_ROUND), candidate(SOLID_CIRCLE)
    assert liked.parsed and other.parsed
    dashed, round_ = sim.TRAITS["dashed"], sim.TRAITS["round"]
    assert sim.expected_stars(liked, dashed) - sim.expected_stars(other, dashed) == pytest.approx(
        sim.TRAIT_STARS, abs=sim.QUALITY_STARS
    )
    assert sim.expected_stars(liked, round_) > sim.expected_stars(other, round_)
    garbage = candidate("no diagram here at all")
    assert not garbage.parsed
    assert sim.stars(garbage, dashed, random.Random(0)) == 1


def test_ratings_come_from_every_rater_and_shares_follow_the_top_1():
    results = [result(DASHED_ROUND, SOLID_CIRCLE), result(SOLID_CIRCLE, DASHED_ROUND)]
    users = sim.raters([("dashed", 2), ("round", 1)])
    written, ratings = sim.rate(results, users, seed=0)
    assert len(written) == 4 and len(ratings) == 4 * 3
    assert {r.user_id for r in ratings} == {"dashed0", "dashed1", "round0"}
    tastes = sim.per_taste(results, [("dashed", 2), ("round", 1)])
    assert tastes["dashed"]["top1"] == 0.5 and tastes["dashed"]["all"] == 0.5
    only_liked = sim.per_taste([result(DASHED_ROUND, SOLID_CIRCLE)] * 2, [("dashed", 1)])
    assert only_liked["dashed"]["top1"] == 1.0
    assert only_liked["dashed"]["stars"] > tastes["dashed"]["stars"]
