"""The hand-written tuning sets as training rows: real people's wording of structure.

Adapter v2 learned skips, joins, branches and loops from our generator and read hand-written
structure requests no better than v1 (dev 0.4375 both): a generator teaches the wordings it
was written with. The tuning sets (engine/bench/data/tune_v*.jsonl, TUNE.md) hold some 400
structure and step-list requests written by several hands; this module turns each into the
sketch that answers it, so that the model itself learns to read such requests (adapter v3).
The dev set (dev_v2.jsonl) is never read here.

A gold states the steps in order and the edges that must be there (edges, skip, loop,
branch), not every edge. The answer wires the steps as the judge reads the gold:
- every stated edge, skip and loop; a branch is an edge carrying its label;
- consecutive steps are chained, except out of a step whose stated forward edges already
  say where it goes, and into a step that a stated forward edge already reaches (a fork's
  second arm is no successor of its first).
Every row is checked against its own gold by the benchmark's judge; one that fails is left
out (`rows` reports how many).
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

from engine.bench.faithful import judge
from engine.diagram.model import DiagramError
from engine.diagram.read import to_diagram
from engine.diagram.sketch import Sketch, sketch_to_text
from training.data.styles import Style, choose_style, styled
from training.sft_data import make_data

KINDS = ("structure", "steps")


def sketch_of(gold: dict) -> Sketch:
    """The structure answering a gold of kind structure or steps (style left default)."""
    steps = list(gold["steps"])
    at = {s: i for i, s in enumerate(steps)}
    edges: dict[tuple[int, int], str] = {}
    for a, b in gold.get("edges", []):
        edges[(at[a], at[b])] = ""
    for a, b, label in gold.get("branch", []):
        edges[(at[a], at[b])] = label
    forward = [(a, b) for a, b in edges if b > a]
    sources = {a for a, _ in forward}
    targets = {b for _, b in forward}
    for i in range(len(steps) - 1):
        if i not in sources and i + 1 not in targets:
            edges.setdefault((i, i + 1), "")
    for key in ("skip", "loop"):
        for a, b in gold.get(key, []):
            edges.setdefault((at[a], at[b]), "")
    order = sorted(edges)
    labels = tuple(edges[e] for e in order)
    return Sketch(steps=tuple(steps), edges=tuple(order), edge_labels=labels if any(labels) else ())


def faithful(text: str, kind: str, gold: dict, sketch: Sketch) -> bool:
    """Does the sketch, laid out as served, pass the benchmark's judge on its own gold?"""
    try:
        diagram = to_diagram(sketch_to_text(sketch)).diagram
    except DiagramError:  # a row we cannot draw is left out
        return False
    return judge(diagram, kind, gold, False, text=text).faithful


def rows(paths: list[Path], repeats: int, seed: int) -> tuple[list[dict], int]:
    """Training rows (description, sketch, hint None) for the structure and step-list
    requests of `paths`, each `repeats` times in a new style; and how many were left out.

    The style is not asked for in these requests, so any style answers them; a repeat
    teaches the structure again under another style, as the generator's examples do."""
    rng = random.Random(seed)
    out: list[dict] = []
    dropped = 0
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            row = json.loads(line) if line.strip() else None
            if row is None or row["kind"] not in KINDS:
                continue
            sketch = sketch_of(row["gold"])
            if not faithful(row["text"], row["kind"], row["gold"], sketch):
                dropped += 1
                continue
            for _ in range(repeats):
                answer = styled(sketch, _plain(choose_style(rng, "flow")))
                out.append(
                    {
                        "description": row["text"],
                        "sketch": sketch_to_text(answer),
                        "kind": f"hand_{row['kind']}",
                        "template": Path(path).stem,
                        "hint": None,
                    }
                )
    return out, dropped


def _plain(style: Style) -> Style:
    """A style the request does not ask for: its colours and shape are free choices."""
    return replace(style, hints=())


def write_mix(
    out: Path,
    synthetic: int,
    seed: int,
    hand: list[Path],
    repeats: int,
    hand_seed: int,
    chunks: int = 16,
) -> tuple[int, int]:
    """The training file of adapters v3 and v4: `synthetic` rows of v1's mix
    (training/sft_data.make_data, so v1's own data at seed 1, 16 chunks) followed by the
    hand rows of `hand`; returns (hand rows written, requests left out)."""
    make_data(out, synthetic, seed=seed, chunks=chunks)
    rows_, dropped = rows(hand, repeats, seed=hand_seed)
    with open(out, "a", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows_)
    return len(rows_), dropped
