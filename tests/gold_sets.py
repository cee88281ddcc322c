"""The hand-written request sets of engine/bench/data (dev_v2 held out, tune_v2 and tune_v3
for tuning): reading them, the checks every line must pass, and a sketch that draws a gold
faithfully. One copy for the tests of every set."""

from __future__ import annotations

import json
from pathlib import Path

from engine.bench.faithful import judge
from engine.diagram.blocks import KINDS as BLOCK_KINDS
from engine.diagram.read import to_diagram

DATA = Path(__file__).resolve().parents[1] / "engine" / "bench" / "data"
GOLD_KEYS = {
    "network": ({"layers"}, set()),
    "steps": ({"steps"}, set()),
    "stack": ({"blocks"}, set()),
    "dataflow": ({"data", "process", "edges"}, set()),
    "named": ({"entry"}, {"classes", "input", "levels", "k", "repeat"}),
    "structure": ({"steps"}, {"edges", "skip", "loop", "branch"}),
    "refuse": (set(), set()),
}


def rows(path: Path) -> list[dict]:
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def check_row(r: dict) -> None:
    """Assert one line's format and its gold's shape for its kind."""
    assert set(r) == {"text", "kind", "gold"} and r["text"].strip(), r
    need, may = GOLD_KEYS[r["kind"]]
    assert need <= set(r["gold"]) <= need | may, r
    kind, g = r["kind"], r["gold"]
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
        names = g["data"] + g["process"]
        assert len(set(names)) == len(names), r
        assert all(a in names and b in names for a, b in g["edges"]), r
    if kind == "named":
        assert isinstance(g["entry"], str) and g["entry"]
        assert all(isinstance(g[k], int) for k in ("classes", "levels", "k", "repeat") if k in g)
    if kind == "structure":
        assert any(k in g for k in ("edges", "skip", "loop", "branch")), r
        for key in ("edges", "skip", "loop", "branch"):
            for e in g.get(key, []):
                assert len(e) == (3 if key == "branch" else 2), r
                assert e[0] in g["steps"] and e[1] in g["steps"], r


def gold_sketch(kind: str, g: dict) -> str:
    """A sketch that draws the gold the way the request states it."""
    if kind == "network":
        return "layers: " + " ".join(map(str, g["layers"]))
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


DRAWABLE = ("network", "steps", "stack", "dataflow", "structure")


def undrawable(data: list[dict]) -> list[tuple[str, str, int]]:
    """(text, why, invented) of the golds that their own sketch does not draw faithfully, or
    draws with invented labels (stacks aside: a stack's gold is block kinds, not words)."""
    failures = []
    for r in data:
        kind, g = r["kind"], r["gold"]
        if kind not in DRAWABLE:
            continue
        v = judge(to_diagram(gold_sketch(kind, g)).diagram, kind, g, False, text=r["text"])
        if not v.faithful or (kind != "stack" and v.invented):
            failures.append((r["text"], v.why, v.invented))
    return failures
