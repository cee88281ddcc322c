"""tune_v4.jsonl and tune_v5.jsonl (engine/bench/data/TUNE.md): structure requests, well-formed
like the other sets, distinct step names, and every gold drawable faithfully with no invented
label."""

from __future__ import annotations

import gold_sets
import pytest


@pytest.mark.parametrize(("name", "least"), [("tune_v4.jsonl", 60), ("tune_v5.jsonl", 25)])
def test_structure_sets_are_well_formed_and_drawable(name: str, least: int) -> None:
    data = gold_sets.rows(gold_sets.DATA / name)
    assert len(data) >= least
    assert {r["kind"] for r in data} == {"structure"}
    assert len({r["text"] for r in data}) == len(data)  # no duplicates
    for r in data:
        gold_sets.check_row(r)
        assert len(set(r["gold"]["steps"])) == len(r["gold"]["steps"]), r
    failures = gold_sets.undrawable(data)
    assert not failures, failures
