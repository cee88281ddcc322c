"""`diagrammer draw "<description>"`: the whole local pipeline, from a sentence to ranked PNGs."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from diagrammer.errors import UserError

HELP = "draw a diagram from a description: sample candidates, rank them, write the top PNGs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("description", help='what to draw, e.g. "an MLP with 3 inputs, ..."')
    parser.add_argument("--candidates", type=int, default=4, help="how many to sample (1-16)")
    parser.add_argument("--top", type=int, default=3, help="how many to keep and write")
    parser.add_argument("--out", type=Path, default=Path("out/draw"), help="output folder")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--adapter", default="latest", help="adapter version (v1, ...), 'latest' or 'none'"
    )
    parser.add_argument("--model", default="default", help="base: default, .gguf, folder, id")
    parser.add_argument("--seed", type=int, default=None, help="repeatable sampling")
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--max-new-tokens", type=int, default=160)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def adapter_version(name: str) -> str | None:
    from engine.llm.load import latest_adapter

    if name == "none":
        return None
    return latest_adapter() if name == "latest" else name


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.candidates <= 16:
        raise UserError("--candidates must be between 1 and 16")
    if not 1 <= args.top <= args.candidates:
        raise UserError("--top must be between 1 and --candidates")
    if not 1 <= args.max_new_tokens <= 512:
        raise UserError("--max-new-tokens must be between 1 and 512")
    from engine.pipeline import check, spec_of

    try:  # refuse bad input before spending seconds on loading the model
        spec_of(check(args.description))
    except ValueError as e:
        raise UserError(str(e)) from None

    from engine.llm.load import ModelNotFound, load
    from engine.pipeline import draw

    started = time.perf_counter()
    version = adapter_version(args.adapter)
    say(f"loading {args.model} model (adapter: {version or 'none'}) ...")
    try:
        lm = load(args.model, adapter=version, device=args.device)
    except ModelNotFound as e:
        raise UserError(str(e)) from None
    loaded = time.perf_counter()
    say(f"loaded in {loaded - started:.1f} s; sampling {args.candidates} candidates ...")
    result = draw(
        lm,
        args.description,
        args.candidates,
        top=args.top,
        temperature=args.temperature,
        max_new_tokens=args.max_new_tokens,
        seed=args.seed,
    )
    say(f"done in {result.timings['total']:.1f} s (generation {result.timings['generate']:.1f} s)")
    rows = write(result, args.top, args.out)
    if args.json:
        payload = {
            "description": result.description,
            "spec": _spec_json(result.spec),
            "model": result.model,
            "adapter": result.adapter,
            "timings": {**result.timings, "load": round(loaded - started, 3)},
            "results": rows,
        }
        print(json.dumps(payload, indent=2))
    else:
        print(table(rows))
    if not any(r["valid"] or r["file"] for r in rows):
        say("no candidate could be drawn; try rephrasing, or more --candidates")
        return 1
    return 0


def _spec_json(spec: object) -> dict | None:
    if spec is None:
        return None
    return {"kind": spec.kind, "layers": list(spec.layers), "steps": list(spec.steps)}


def write(result: object, top: int, out: Path) -> list[dict]:
    """Write the top candidates (PNG, node list, sketch); one summary row each."""
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for c in result.top(top):
        stem = out / f"rank{c.rank}"
        (stem.with_suffix(".sketch.txt")).write_text(c.text + "\n", encoding="utf-8")
        if c.parsed:
            stem.with_suffix(".txt").write_text(c.node_text, encoding="utf-8")
        if c.png:
            stem.with_suffix(".png").write_bytes(c.png)
        rows.append(
            {
                "rank": c.rank,
                "file": str(stem.with_suffix(".png")) if c.png else None,
                "text": c.text,
                "valid": c.valid,
                "readability": round(c.readability, 3),
                "fidelity": None if c.fidelity is None else round(c.fidelity.score, 3),
                "fidelity_exact": None if c.fidelity is None else c.fidelity.exact,
                "finished": c.generation.finished,
                "tokens": c.generation.tokens,
                "problems": [p.why for p in c.problems][:5],
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    """rank, valid, readability, fidelity, the sketch's structure line and the PNG (or why not)."""
    lines = [f"rank  valid  readability  fidelity    {'structure':<40}  file"]
    for r in rows:
        fid = "-" if r["fidelity"] is None else f"{r['fidelity']:.2f}"
        fid += " exact" if r["fidelity_exact"] else ""
        head = (r["text"].splitlines() or [""])[0][:40]
        why = "(not drawn: " + "; ".join(r["problems"][:1]) + ")"
        lines.append(
            f"{r['rank']:>4}  {'yes' if r['valid'] else 'no':>5}  {r['readability']:>11.3f}  "
            f"{fid:<10}  {head:<40}  {r['file'] or why}"
        )
    return "\n".join(lines)
