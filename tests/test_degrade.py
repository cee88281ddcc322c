"""Degraded variants: each kind of defect lowers readability, and the command writes them."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from diagrammer.cli import main
from engine.diagram.metrics import metrics, severities
from engine.diagram.model import Diagram
from training.data.degrade import KINDS, degrade
from training.data.synth import examples

# The defect each kind must introduce (its metric's severity rises above the clean one's).
DEFECT = {
    "overlap": "overlaps",
    "off canvas": "off_canvas",
    "crossings": None,  # crossings, edges through nodes or overlaps: whichever the swap makes
    "low contrast": "line_contrast",
    "cramped": "spacing",
    "labels": "label_fit",
}


@pytest.fixture(scope="module")
def clean() -> list[Diagram]:
    return [e.diagram for e in examples(30, seed=5)]


@pytest.mark.parametrize("kind", KINDS)
def test_each_degradation_lowers_readability(kind: str, clean: list[Diagram]) -> None:
    for i, d in enumerate(clean):
        before = metrics(d)
        bad = degrade(d, kind, random.Random(i))
        after = metrics(bad)
        assert after.readability < before.readability, (kind, i)
        defect = DEFECT[kind]
        if defect and not (kind in ("cramped", "labels") and len(d.nodes) < 2):
            assert severities(after)[defect] > severities(before)[defect], (kind, i)
        assert [n.id for n in bad.nodes] == [n.id for n in d.nodes]  # same structure
        assert [n.targets for n in bad.nodes] == [n.targets for n in d.nodes]


def test_deterministic_and_checked(clean: list[Diagram]) -> None:
    d = clean[0]
    assert degrade(d, "overlap", random.Random(1)) == degrade(d, "overlap", random.Random(1))
    with pytest.raises(ValueError, match="unknown degradation"):
        degrade(d, "blurry", random.Random(1))
    assert degrade(Diagram(), "overlap", random.Random(1)) == Diagram()


def test_data_degrade_command(tmp_path: Path) -> None:
    source, out = tmp_path / "sft.jsonl", tmp_path / "bad.jsonl"
    assert main(["data", "sft", "--n", "4", "--seed", "2", "--out", str(source)]) == 0
    args = ["data", "degrade", "--in", str(source), "--out", str(out), "--per", "3"]
    assert main([*args, "--seed", "1"]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4 * (1 + 3)
    assert [r["source_index"] for r in rows] == [i for i in range(4) for _ in range(4)]
    for group in range(4):
        part = rows[4 * group : 4 * group + 4]
        assert part[0]["kind"] == "clean" and {r["kind"] for r in part[1:]} <= set(KINDS)
        assert all(r["readability"] < part[0]["readability"] for r in part[1:])
        assert all(r["diagram"].startswith("[") for r in part)
    (tmp_path / "broken.jsonl").write_text('{"no diagram": 1}\n')
    assert main(["data", "degrade", "--in", str(tmp_path / "broken.jsonl"), "--out", str(out)]) == 2
