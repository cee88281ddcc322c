"""`diagrammer data sft`: synthetic requests and the sketches that answer them, as JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from diagrammer.errors import UserError

HELP = "write N synthetic training examples (request, sketch, node list, spec) as JSON lines"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, required=True, help="how many examples")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same file")
    parser.add_argument("--out", type=Path, required=True, help="JSON-lines file to write")


def run(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise UserError("--n must be at least 1")
    from tqdm import tqdm

    from training.data.synth import examples

    args.out.parent.mkdir(parents=True, exist_ok=True)
    kinds: Counter[str] = Counter()
    hinted = 0
    with args.out.open("w", encoding="utf-8") as f:
        for e in tqdm(examples(args.n, args.seed), total=args.n, unit="ex", file=sys.stderr):
            f.write(json.dumps(e.as_json()) + "\n")
            kinds[e.kind] += 1
            hinted += e.hint_found
    mix = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items()))
    print(f"wrote {args.n} examples to {args.out} ({mix}); the spec extractor reads "
          f"{hinted / args.n:.0%} of the requests")  # fmt: skip
    return 0
