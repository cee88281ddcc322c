"""The tuning sets as training rows (training/data/hand.py): each answer is the gold's
structure, judged faithful by the benchmark's own judge."""

import json
from pathlib import Path

from engine.diagram.sketch import parse_sketch
from training.data.hand import rows, sketch_of, write_mix

DATA = Path(__file__).resolve().parents[1] / "engine" / "bench" / "data"


def test_a_fork_is_not_chained_arm_to_arm_and_a_skip_keeps_the_chain():
    fork = {
        "steps": ["image", "resnet", "vit", "average"],
        "edges": [["image", "resnet"], ["image", "vit"], ["resnet", "average"], ["vit", "average"]],
    }
    assert sketch_of(fork).edges == ((0, 1), (0, 2), (1, 3), (2, 3))
    skip = {"steps": ["x", "conv", "relu", "add"], "skip": [["x", "add"]]}
    assert sketch_of(skip).edges == ((0, 1), (0, 3), (1, 2), (2, 3))


def test_branches_carry_their_labels_and_loops_go_back():
    gold = {
        "steps": ["check", "ok?", "deploy", "retrain"],
        "branch": [["ok?", "deploy", "yes"], ["ok?", "retrain", "no"]],
        "loop": [["retrain", "check"]],
    }
    s = sketch_of(gold)
    assert dict(zip(s.edges, s.edge_labels, strict=True)) == {
        (0, 1): "",
        (1, 2): "yes",
        (1, 3): "no",
        (3, 0): "",
    }


def test_every_tuning_row_becomes_a_faithful_styled_answer():
    paths = [DATA / f"tune_v{i}.jsonl" for i in range(2, 8)]
    got, dropped = rows(paths, 2, seed=0)
    assert dropped == 0 and len(got) == 2 * 461
    assert all(r["hint"] is None and parse_sketch(r["sketch"])[0] is not None for r in got)
    assert got[0]["sketch"] != got[1]["sketch"]  # the repeat is another style
    assert {r["template"] for r in got} == {p.stem for p in paths}


def test_the_training_mix_is_the_synthetic_rows_then_the_hand_rows(tmp_path):
    out = tmp_path / "train.jsonl"
    n, dropped = write_mix(out, 6, 1, [DATA / "tune_v8.jsonl"], repeats=1, hand_seed=3, chunks=2)
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 6 + n and dropped == 0 and n > 50
    assert all(not r["kind"].startswith("hand_") for r in lines[:6])
    assert all(r["kind"].startswith("hand_") and r["hint"] is None for r in lines[6:])
