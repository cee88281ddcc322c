"""tune_v4.jsonl (engine/bench/data/TUNE.md): 60+ structure requests, well-formed like the
other sets, distinct step names, and every gold drawable faithfully with no invented label."""

from __future__ import annotations

import gold_sets

TUNE_V4 = gold_sets.DATA / "tune_v4.jsonl"


def test_tune_v4_is_well_formed_and_drawable() -> None:
    data = gold_sets.rows(TUNE_V4)
    assert len(data) >= 60
    assert {r["kind"] for r in data} == {"structure"}
    assert len({r["text"] for r in data}) == len(data)  # no duplicates
    for r in data:
        gold_sets.check_row(r)
        assert len(set(r["gold"]["steps"])) == len(r["gold"]["steps"]), r
    failures = gold_sets.undrawable(data)
    assert not failures, failures
