"""`diagrammer draw "<description>"`: the whole local pipeline, from a sentence to ranked PNGs,
each with the same drawing as SVG beside it (rankN.svg), for papers and slides."""

from __future__ import annotations

import argparse
import atexit
import gc
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from diagrammer.errors import UserError
from engine.llm.sampling import DEFAULT, SamplingParams

if TYPE_CHECKING:  # loaded only for --user: the default path needs no CNN or auto-encoder
    from engine.scoring.user_rank import UserRanker

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
    parser.add_argument("--temperature", type=float, default=DEFAULT.temperature)
    parser.add_argument("--max-new-tokens", type=int, default=DEFAULT.max_new_tokens)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")
    parser.add_argument(
        "--user", default=None, help="rank for this user, as the engine does, from their ratings"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="the engine's data dir, for --user (default: ENGINE_DATA_DIR or data/engine)",
    )
    parser.add_argument(
        "--ratings",
        type=Path,
        default=None,
        help="JSONL ratings for --user, used instead of the store (default when no store: "
        "./ratings.jsonl)",
    )


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def quiet_loading() -> None:
    """No "Loading weights" bar from transformers: the lines above say what is happening,
    and a bar redrawn with carriage returns litters logs and non-terminal stderr."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


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
    if args.user is not None and not args.user.strip():
        raise UserError("--user is empty: give the user's id")
    if args.user is None and (args.ratings or args.data_dir):
        raise UserError("--ratings and --data-dir are for --user")
    if args.ratings is not None and not args.ratings.is_file():
        raise UserError(f"--ratings {args.ratings}: no such file")
    from engine.pipeline import check, spec_of

    try:  # refuse bad input before spending seconds on loading the model
        spec_of(check(args.description))
    except ValueError as e:
        raise UserError(str(e)) from None

    from engine.llm.cache import load_model
    from engine.llm.load import ModelNotFound
    from engine.pipeline import draw

    # At exit, the interpreter's last collections walk every object torch and transformers
    # made: ~0.5 s of a 7 s run. Frozen objects are skipped; the process ends anyway.
    atexit.register(gc.freeze)
    started = time.perf_counter()
    version = adapter_version(args.adapter)
    quiet_loading()
    say(f"loading the {args.model} model (adapter: {version or 'none'}) ...")
    try:
        lm = load_model(args.model, adapter=version, device=args.device)
    except ModelNotFound as e:
        raise UserError(str(e)) from None
    loaded = time.perf_counter()
    ranker, source = user_ranker(args, str(lm.device)) if args.user else (None, None)
    cached = " (decoder from the cache)" if getattr(lm.model, "prebuilt", False) else ""
    say(
        f"loaded in {loaded - started:.1f} s{cached}; sampling {args.candidates} candidates "
        f"on {lm.device.type} ..."
    )
    result = draw(
        lm,
        args.description,
        args.candidates,
        top=args.top,
        sampling=SamplingParams(
            temperature=args.temperature, max_new_tokens=args.max_new_tokens, seed=args.seed
        ),
        **({} if ranker is None else {"ranker": ranker}),
    )
    say(
        f"drawn and ranked in {result.timings['total']:.1f} s "
        f"(generation {result.timings['generate']:.1f} s); writing the top {args.top} to {args.out}"
    )
    rows = write(result, args.top, args.out, user=ranker is not None)
    if args.json:
        payload = {
            "description": result.description,
            "spec": _spec_json(result.spec),
            "model": result.model,
            "adapter": result.adapter,
            "timings": {**result.timings, "load": round(loaded - started, 3)},
            "results": rows,
        }
        if ranker is not None:
            payload["user"] = {"id": args.user, "ratings": ranker.profile.n, "source": source}
        print(json.dumps(payload, indent=2))
    else:
        print(table(rows))
    if not any(r["valid"] or r["file"] for r in rows):
        say("no candidate could be drawn; try rephrasing, or more --candidates")
        return 1
    return 0


def user_ranker(args: argparse.Namespace, device: str) -> tuple[UserRanker, str]:
    """The engine's ranking for --user, from their ratings (diagrammer/user_ratings.py), and
    where the ratings came from."""
    from diagrammer.user_ratings import default_data_dir, load
    from engine.scoring.user_rank import UserRanker

    data_dir = args.data_dir or default_data_dir()
    taste = load(args.user.strip(), data_dir, args.ratings, device, say)
    n = taste.profile.n
    say(
        f"ranking for user {args.user.strip()}: {n} rating{'s' * (n != 1)} from {taste.source}"
        + ("" if n else " (ranking by readability)")
    )
    return UserRanker(taste.models, taste.profile, args.top, taste.population), taste.source


def _spec_json(spec: object) -> dict | None:
    if spec is None:
        return None
    return {"kind": spec.kind, "layers": list(spec.layers), "steps": list(spec.steps)}


def write(result: object, top: int, out: Path, user: bool = False) -> list[dict]:
    """Write the top candidates (PNG and SVG, node list, sketch); one summary row each, with
    the user's scores when ranked for one."""
    from engine.diagram.svg import render_svg

    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for c in result.top(top):
        stem = out / f"rank{c.rank}"
        (stem.with_suffix(".sketch.txt")).write_text(c.text + "\n", encoding="utf-8")
        if c.parsed:
            stem.with_suffix(".txt").write_text(c.node_text, encoding="utf-8")
        if c.png:
            stem.with_suffix(".png").write_bytes(c.png)
            stem.with_suffix(".svg").write_text(render_svg(c.diagram), encoding="utf-8")
        rows.append(
            {
                "rank": c.rank,
                "file": str(stem.with_suffix(".png")) if c.png else None,
                "svg": str(stem.with_suffix(".svg")) if c.png else None,
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
        if user:
            rows[-1] |= _user_columns(c)
    return rows


def _user_columns(c: object) -> dict:
    """CNN readability (0..5), expected rating (1..5) and its confidence (0..1)."""
    if c.cnn_readability is None:  # an unreadable candidate: nothing was drawn to score
        return {"cnn_readability": None, "expected_rating": None, "confidence": None}
    return {
        "cnn_readability": round(c.cnn_readability, 3),
        "expected_rating": round(c.expected_rating, 3),
        "confidence": round(c.confidence, 3),
    }


def table(rows: list[dict]) -> str:
    """rank, valid, readability, fidelity, (for a user: CNN readability, expected rating,
    confidence), the sketch's structure line and the PNG (or why not)."""
    user = bool(rows) and "expected_rating" in rows[0]
    extra = "   cnn  expected  conf" if user else ""
    lines = [f"rank  valid  readability  fidelity  {extra}  {'structure':<40}  file"]
    for r in rows:
        fid = "-" if r["fidelity"] is None else f"{r['fidelity']:.2f}"
        fid += " exact" if r["fidelity_exact"] else ""
        head = (r["text"].splitlines() or [""])[0][:40]
        why = "(not drawn: " + "; ".join(r["problems"][:1]) + ")"
        lines.append(
            f"{r['rank']:>4}  {'yes' if r['valid'] else 'no':>5}  {r['readability']:>11.3f}  "
            f"{fid:<10}{_user_cells(r) if user else ''}  {head:<40}  {r['file'] or why}"
        )
    return "\n".join(lines)


def _user_cells(r: dict) -> str:
    if r["expected_rating"] is None:
        return f"  {'-':>4}  {'-':>8}  {'-':>4}"
    return f"  {r['cnn_readability']:>4.2f}  {r['expected_rating']:>8.2f}  {r['confidence']:>4.2f}"
