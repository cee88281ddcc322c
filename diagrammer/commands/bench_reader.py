"""`diagrammer bench reader`: how faithfully the request readers and the layout draw the
held-out dev set (engine/bench/data/dev_v2.jsonl), per kind, without a language model.

Every request goes through the pipeline's own `spec_of` and `read`, with one fixed candidate
text in place of the model's answer: the structure hint the prompt would carry plus a style.
For stacks, data flows and catalogue entries the pipeline grafts the request's structure
onto every candidate, so this *is* the structure of the top-1 whatever the model writes
(the model decides style only). For networks and step lists the model writes the structure
itself; there this bench measures the ceiling of a model that copies its hint, and the model's
own figures come from `diagrammer bench quality`. A request the readers cannot read gets no
structure: nothing faithful is drawn (an honest miss, never an invented structure).
Judged by engine/bench/faithful.py.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

HELP = "per-kind faithfulness of the request readers and layout on the dev set (no model)"
DEV = Path(__file__).resolve().parents[2] / "engine" / "bench" / "data" / "dev_v2.jsonl"
STYLE = (
    "direction: right\nshape: round rectangle 150x50\nfill: 220 235 250\nline: solid arrow 40 40 40"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dev", type=Path, default=DEV, help="JSONL dev set")
    parser.add_argument("--out", type=Path, default=Path("out/bench"), help="JSON rows here")
    parser.add_argument("--misses", action="store_true", help="print every miss")


def _answer(spec: object) -> str:
    """What a model that copies its hint would write, with a plain style."""
    from engine.llm.prompt import hint

    line = hint(spec)  # type: ignore[arg-type]
    structure = line.removeprefix("hint: ").replace("layers ", "layers: ", 1)
    structure = (
        structure.replace("steps ", "steps: ", 1) if structure.startswith("steps") else structure
    )
    return f"{structure}\n{STYLE}" if structure else STYLE


def run(args: argparse.Namespace) -> int:
    from engine.bench.faithful import judge
    from engine.catalogue import catalogue
    from engine.diagram.read import to_diagram
    from engine.llm.generate import Generation
    from engine.pipeline import BadRequest, check, read, spec_of

    rows = [json.loads(line) for line in args.dev.read_text().splitlines() if line.strip()]
    per: dict[str, list[dict]] = defaultdict(list)
    start = time.perf_counter()
    for row in rows:
        refused, diagram, expected = False, None, None
        try:
            spec = spec_of(check(row["text"]))
        except BadRequest:
            refused, spec = True, None
        if spec is not None:
            candidate = read(Generation(_answer(spec), 0, True, 0.0), spec)
            diagram = candidate.diagram if candidate.parsed else None
        if row["kind"] == "named":
            wanted = str(row["gold"].get("entry", "")).lower()
            entry = next((e for e in catalogue.entries() if e.name.lower() == wanted), None)
            entry = entry or catalogue.find(wanted)  # the gold names it in its own words
            if entry is not None:
                expected = to_diagram(catalogue.adapt(entry, row["text"])).diagram
        verdict = judge(
            diagram, row["kind"], row["gold"], refused, text=row["text"], expected=expected
        )
        per[row["kind"]].append(
            {
                "text": row["text"],
                "faithful": verdict.faithful,
                "why": verdict.why,
                "invented": verdict.invented,
                "labels": verdict.labels,
                "read_as": spec.kind if spec else None,
            }
        )
    seconds = time.perf_counter() - start
    print(f"{'kind':<10} {'n':>4} {'faithful':>9} {'read':>6} {'invented':>9}")
    total = [0, 0, 0, 0]
    for kind, results in per.items():
        n, ok = len(results), sum(r["faithful"] for r in results)
        read_n = sum(r["read_as"] is not None for r in results)
        inv = sum(r["invented"] for r in results) / max(1, sum(r["labels"] for r in results))
        total = [
            total[0] + n,
            total[1] + ok,
            total[2] + sum(r["invented"] for r in results),
            total[3] + sum(r["labels"] for r in results),
        ]
        print(f"{kind:<10} {n:>4} {ok / n:>9.1%} {read_n / n:>6.0%} {inv:>9.1%}")
        if args.misses:
            for r in results:
                if not r["faithful"]:
                    print(f"    miss ({r['read_as']}): {r['text'][:90]!r}: {r['why']}")
    print(
        f"{'all':<10} {total[0]:>4} {total[1] / total[0]:>9.1%} {'':>6} "
        f"{total[2] / max(1, total[3]):>9.1%}   ({seconds:.1f} s)"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_reader.json").write_text(json.dumps(per, indent=1))
    return 0
