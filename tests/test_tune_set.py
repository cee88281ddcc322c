"""The tuning sets (engine/bench/data/tune_v2.jsonl, tune_v3.jsonl, tune_v6.jsonl,
tune_v7.jsonl .. tune_v24.jsonl, see TUNE.md): well-formed like the dev set,
every gold (but named and refuse) drawable as a faithful diagram without invented labels, and
every named gold a catalogue entry.
The dev set is not read here: the tuning sets were written without looking at it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import gold_sets
import pytest

from engine.bench.faithful import KINDS
from engine.catalogue.catalogue import entries

TUNE = gold_sets.DATA / "tune_v2.jsonl"
AT_LEAST = {
    "network": 40,
    "steps": 25,
    "stack": 50,
    "dataflow": 50,
    "named": 25,
    "structure": 40,
    "refuse": 10,
}


def rows(path: Path = TUNE) -> list[dict]:
    return gold_sets.rows(path)


def test_tune_set_is_well_formed() -> None:
    data = rows()
    counts = Counter(r["kind"] for r in data)
    assert set(counts) == set(KINDS)
    for kind, least in AT_LEAST.items():
        assert counts[kind] >= least, kind
    assert len({r["text"] for r in data}) == len(data)  # no duplicates
    for r in data:
        gold_sets.check_row(r)


def test_named_golds_are_catalogue_entries() -> None:
    names = {e.name for e in entries()}
    for r in rows():
        if r["kind"] == "named":
            assert r["gold"]["entry"] in names, r


def test_every_tune_gold_can_be_drawn_faithfully() -> None:
    failures = gold_sets.undrawable(rows())
    assert not failures, failures


TUNE_V3 = gold_sets.DATA / "tune_v3.jsonl"
AT_LEAST_V3 = {
    "steps": 50,
    "stack": 50,
    "structure": 60,
    "network": 25,
    "dataflow": 25,
    "named": 10,
}


def test_tune_v3_is_well_formed() -> None:
    """tune_v3.jsonl (TUNE.md): the same line and gold format, the counts asked for, named
    golds that are catalogue entries, and every other gold drawable faithfully."""
    data = rows(TUNE_V3)
    counts = Counter(r["kind"] for r in data)
    assert set(counts) <= set(KINDS)
    for kind, least in AT_LEAST_V3.items():
        assert counts[kind] >= least, kind
    assert len({r["text"] for r in data}) == len(data)  # no duplicates
    names = {e.name for e in entries()}
    for r in data:
        gold_sets.check_row(r)
        if r["kind"] == "named":
            assert r["gold"]["entry"] in names, r
        if r["kind"] == "structure":
            assert len(set(r["gold"]["steps"])) == len(r["gold"]["steps"]), r
    failures = gold_sets.undrawable(data)
    assert not failures, failures


@pytest.mark.parametrize(
    ("name", "counts"),
    [
        ("tune_v6.jsonl", {"structure": 75, "steps": 25}),
        ("tune_v7.jsonl", {"structure": 70, "steps": 20}),
        ("tune_v8.jsonl", {"structure": 80, "steps": 20}),
        ("tune_v9.jsonl", {"structure": 100, "steps": 30}),
        ("tune_v10.jsonl", {"structure": 80, "steps": 20}),
        ("tune_v11.jsonl", {"structure": 80, "steps": 20}),
        ("tune_v12.jsonl", {"structure": 80, "steps": 20}),
        ("tune_v13.jsonl", {"structure": 80, "steps": 20}),
        ("tune_v14.jsonl", {"stack": 70, "network": 30}),
        ("tune_v15.jsonl", {"dataflow": 100}),
        ("tune_v16.jsonl", {"stack": 45, "dataflow": 35, "network": 20}),
        ("tune_v17.jsonl", {"dataflow": 100}),
        ("tune_v18.jsonl", {"stack": 70, "network": 30}),
        ("tune_v19.jsonl", {"dataflow": 100}),
        ("tune_v20.jsonl", {"stack": 70, "network": 30}),
        ("tune_v21.jsonl", {"dataflow": 100}),
        ("tune_v22.jsonl", {"stack": 70, "network": 30}),
        ("tune_v23.jsonl", {"structure": 80, "steps": 20}),
        ("tune_v24.jsonl", {"structure": 80, "steps": 20}),
    ],
)
def test_later_structure_sets_are_well_formed(name: str, counts: dict[str, int]) -> None:
    """tune_v6 .. tune_v24 (TUNE.md): structure, steps, stack, flow and network lines in the dev
    set's format, the counts written, no duplicate texts or structure steps, and every gold
    drawable."""
    data = rows(gold_sets.DATA / name)
    assert Counter(r["kind"] for r in data) == counts
    assert len({r["text"] for r in data}) == len(data)  # no duplicates
    for r in data:
        gold_sets.check_row(r)
        if r["kind"] == "structure":
            assert len(set(r["gold"]["steps"])) == len(r["gold"]["steps"]), r
    failures = gold_sets.undrawable(data)
    assert not failures, failures
