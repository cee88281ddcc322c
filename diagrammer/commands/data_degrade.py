"""`diagrammer data degrade`: each clean diagram plus controlled bad variants, with scores."""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from diagrammer.errors import UserError

HELP = "write clean diagrams and degraded variants (overlap, off canvas, ...) with readability"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--in", dest="source", type=Path, required=True,
        help="JSON lines with a 'diagram' node list (e.g. from `data sft`)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, help="JSON-lines file to write")
    parser.add_argument("--per", type=int, default=6, help="degraded variants per diagram")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    if args.per < 0:
        raise UserError("--per must be 0 or more")
    from engine.diagram.metrics import metrics
    from engine.diagram.parse import parse
    from engine.diagram.text import to_text
    from training.data.degrade import KINDS, degrade

    rng = random.Random(args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with args.source.open(encoding="utf-8") as src, args.out.open("w", encoding="utf-8") as out:
        for index, line in enumerate(src):
            if not line.strip():
                continue
            try:
                diagram = parse(json.loads(line)["diagram"]).diagram
            except (ValueError, KeyError, TypeError) as e:
                raise UserError(f"{args.source}:{index + 1}: no usable 'diagram' ({e})") from None
            kinds = [KINDS[(index + k) % len(KINDS)] for k in range(args.per)]
            for kind, d in [("clean", diagram)] + [(k, degrade(diagram, k, rng)) for k in kinds]:
                row = {"diagram": to_text(d), "source_index": index, "kind": kind,
                       "readability": metrics(d).readability}  # fmt: skip
                out.write(json.dumps(row) + "\n")
                written += 1
    print(f"wrote {written} diagrams to {args.out}", file=sys.stderr)
    return 0
