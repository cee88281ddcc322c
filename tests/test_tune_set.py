"""The tuning set (engine/bench/data/tune_v2.jsonl, see engine/bench/data/TUNE.md): well-formed
like the dev set, every gold (but named and refuse) drawable as a faithful diagram without
invented labels, and every named gold a catalogue entry.
The dev set is not read here: the tuning set was written without looking at it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from engine.bench.faithful import KINDS, judge
from engine.catalogue.catalogue import entries
from engine.diagram.blocks import KINDS as BLOCK_KINDS
from engine.diagram.model import Diagram
from engine.diagram.read import to_diagram

DATA = Path(__file__).resolve().parents[1] / "engine" / "bench" / "data"
TUNE = DATA / "tune_v2.jsonl"
AT_LEAST = {
    "network": 40,
    "steps": 25,
    "stack": 50,
    "dataflow": 50,
    "named": 25,
    "structure": 40,
    "refuse": 10,
}
GOLD_KEYS = {
    "network": ({"layers"}, set()),
    "steps": ({"steps"}, set()),
    "stack": ({"blocks"}, set()),
    "dataflow": ({"data", "process", "edges"}, set()),
    "named": ({"entry"}, {"classes", "input", "levels", "k", "repeat"}),
    "structure": ({"steps"}, {"edges", "skip", "loop", "branch"}),
    "refuse": (set(), set()),
}


def d(sketch: str) -> Diagram:
    return to_diagram(sketch).diagram


def rows(path: Path = TUNE) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_tune_set_is_well_formed() -> None:
    data = rows()
    counts = Counter(r["kind"] for r in data)
    assert set(counts) == set(KINDS)
    for kind, least in AT_LEAST.items():
        assert counts[kind] >= least, kind
    assert len({r["text"] for r in data}) == len(data)  # no duplicates
    for r in data:
        assert set(r) == {"text", "kind", "gold"} and r["text"].strip()
        need, may = GOLD_KEYS[r["kind"]]
        assert need <= set(r["gold"]) <= need | may, r
        g = r["gold"]
        if r["kind"] == "network":
            assert len(g["layers"]) >= 2 and all(isinstance(n, int) and n > 0 for n in g["layers"])
        if r["kind"] == "steps":
            assert len(g["steps"]) >= 2 and all(isinstance(s, str) and s for s in g["steps"])
        if r["kind"] == "stack":
            for b in g["blocks"]:
                kind, _, units = b.partition(" ")
                assert kind in BLOCK_KINDS, b
                assert not units or (kind in ("dense", "output") and units.isdigit()), b
        if r["kind"] == "dataflow":
            names = g["data"] + g["process"]
            assert len(set(names)) == len(names)
            assert all(a in names and b in names for a, b in g["edges"]), r
        if r["kind"] == "named":
            assert isinstance(g["entry"], str) and g["entry"]
            assert all(
                isinstance(g[k], int) for k in ("classes", "levels", "k", "repeat") if k in g
            )
        if r["kind"] == "structure":
            assert any(k in g for k in ("edges", "skip", "loop", "branch")), r
            for key in ("edges", "skip", "loop", "branch"):
                for e in g.get(key, []):
                    assert len(e) == (3 if key == "branch" else 2), r
                    assert e[0] in g["steps"] and e[1] in g["steps"], r


def test_named_golds_are_catalogue_entries() -> None:
    names = {e.name for e in entries()}
    for r in rows():
        if r["kind"] == "named":
            assert r["gold"]["entry"] in names, r


def _sketch(kind: str, g: dict) -> str:
    """A sketch that draws the gold the way the request states it."""
    if kind == "steps":
        return "steps: " + " | ".join(g["steps"])
    if kind == "stack":
        sample = {"merge": "add", "activation": "relu", "norm": "batch norm", "rnn": "lstm"}
        return "blocks: " + " | ".join(sample.get(b, b) for b in g["blocks"])
    if kind == "dataflow":
        names = g["data"] + g["process"]
        steps = [f"[{n}]" if n in g["data"] else n for n in names]
        edges = " ".join(f"{names.index(a) + 1}>{names.index(b) + 1}" for a, b in g["edges"])
        return "steps: " + " | ".join(steps) + "\nedges: " + edges
    names = g["steps"]
    at = {n: str(i + 1) for i, n in enumerate(names)}
    labelled = {(a, b) for a, b, _ in g.get("branch", [])}
    plain = g.get("edges", []) + g.get("skip", []) + g.get("loop", [])
    edges = [f"{at[a]}>{at[b]}" for a, b in plain if (a, b) not in labelled]
    edges += [f"{at[a]}>{at[b]}[{label}]" for a, b, label in g.get("branch", [])]
    forks = {a for a, _ in g.get("edges", [])} | {a for a, _, _ in g.get("branch", [])}
    edges += [f"{i + 1}>{i + 2}" for i, n in enumerate(names[:-1]) if n not in forks]
    return "steps: " + " | ".join(names) + "\nedges: " + " ".join(edges)


def test_every_tune_gold_can_be_drawn_faithfully() -> None:
    failures = []
    for r in rows():
        kind, g = r["kind"], r["gold"]
        if kind == "network":
            diagram = d("layers: " + " ".join(map(str, g["layers"])))
        elif kind in ("steps", "stack", "dataflow", "structure"):
            diagram = d(_sketch(kind, g))
        else:
            continue
        v = judge(diagram, kind, g, False, text=r["text"])
        if not v.faithful or (kind != "stack" and v.invented):
            failures.append((r["text"], v.why, v.invented))
    assert not failures, failures


TUNE_V3 = DATA / "tune_v3.jsonl"
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
    failures = []
    for r in data:
        assert set(r) == {"text", "kind", "gold"} and r["text"].strip(), r
        kind, g = r["kind"], r["gold"]
        need, may = GOLD_KEYS[kind]
        assert need <= set(g) <= need | may, r
        if kind == "network":
            assert len(g["layers"]) >= 2 and all(isinstance(n, int) and n > 0 for n in g["layers"])
        if kind == "steps":
            assert len(g["steps"]) >= 2 and all(isinstance(s, str) and s for s in g["steps"])
        if kind == "stack":
            for b in g["blocks"]:
                block, _, units = b.partition(" ")
                assert block in BLOCK_KINDS, b
                assert not units or (block in ("dense", "output") and units.isdigit()), b
        if kind == "dataflow":
            flow = g["data"] + g["process"]
            assert len(set(flow)) == len(flow), r
            assert all(a in flow and b in flow for a, b in g["edges"]), r
        if kind == "named":
            assert g["entry"] in names, r
            assert all(
                isinstance(g[k], int) for k in ("classes", "levels", "k", "repeat") if k in g
            )
        if kind == "structure":
            assert len(set(g["steps"])) == len(g["steps"]), r
            assert any(k in g for k in ("edges", "skip", "loop", "branch")), r
            for key in ("edges", "skip", "loop", "branch"):
                for e in g.get(key, []):
                    assert len(e) == (3 if key == "branch" else 2), r
                    assert e[0] in g["steps"] and e[1] in g["steps"], r
        if kind == "network":
            diagram = d("layers: " + " ".join(map(str, g["layers"])))
        elif kind in ("steps", "stack", "dataflow", "structure"):
            diagram = d(_sketch(kind, g))
        else:
            continue
        v = judge(diagram, kind, g, False, text=r["text"])
        if not v.faithful or (kind != "stack" and v.invented):
            failures.append((r["text"], v.why, v.invented))
    assert not failures, failures
