"""`diagrammer bench quality`: base model (zero-shot) vs fine-tuned, on held-out requests."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from diagrammer.errors import UserError
from engine.llm.sampling import DEFAULT, SamplingParams

HELP = "measure parse, stop and fidelity rates of the model with and without its adapter"
FRESH_SEED = 990_001  # never used for training data


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--prompts",
        type=Path,
        action="append",
        help="JSON-lines prompt set(s) {text, spec}; default: fresh synthetic + requests.jsonl",
    )
    parser.add_argument("--synthetic", type=int, default=100, help="fresh generator requests")
    parser.add_argument(
        "--dev",
        type=Path,
        help="held-out dev set (engine/bench/data/dev_v2.jsonl): report per kind, judged by "
        "engine/bench/faithful.py, instead of the prompt sets",
    )
    parser.add_argument(
        "--adapter",
        action="append",
        help="adapter versions to compare (repeatable; 'none' = zero-shot); default: none, latest",
    )
    parser.add_argument(
        "--engine",
        action="append",
        choices=["fast", "plain"],
        help="generation path (repeatable, to compare): fast (default) or plain transformers",
    )
    parser.add_argument(
        "--model-reads",
        action="store_true",
        help="with --dev: no steps hint, nothing grafted: the model's own reading of flows",
    )
    parser.add_argument("--model", default="default", help="base: default, .gguf, folder, id")
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16, help="requests per generation call")
    parser.add_argument("--limit", type=int, default=None, help="first N requests of each set")
    parser.add_argument("--max-new-tokens", type=int, default=DEFAULT.max_new_tokens)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")
    parser.add_argument("--out", type=Path, default=Path("out/bench"), help="table, plot, details")
    parser.add_argument("--json", action="store_true", help="print JSON rows instead of markdown")


def prompt_sets(args: argparse.Namespace) -> dict[str, list]:
    from engine.bench.quality import REQUESTS, read_requests

    if args.prompts:
        sets = {p.stem: read_requests(p) for p in args.prompts}
    else:
        sets = {}
        if args.synthetic:
            sets["synthetic"] = synthetic_requests(args.synthetic, FRESH_SEED)
        if REQUESTS.is_file():
            sets["hand-written"] = read_requests(REQUESTS)
    if not sets:
        raise UserError("no prompt set: pass --prompts FILE")
    return {k: v[: args.limit] if args.limit else v for k, v in sets.items()}


def synthetic_requests(n: int, seed: int) -> list:
    """Fresh requests from the training-data generator, with a seed training never used
    (here, not in engine/bench: the engine does not import training/)."""
    from engine.bench.quality import Request
    from training.data.synth import examples

    return [Request(e.description, e.spec) for e in examples(n, seed)]


def run(args: argparse.Namespace) -> int:
    if args.candidates < 1 or args.batch < 1:
        raise UserError("--candidates and --batch must be at least 1")
    from engine.bench import quality
    from engine.llm import fast
    from engine.llm import generate as plain
    from engine.llm.load import ModelNotFound, latest_adapter, load

    names = args.adapter or ["none", "latest"]
    if args.dev is not None:
        return run_dev(args, names)
    sets = prompt_sets(args)
    versions = [None if a == "none" else latest_adapter() if a == "latest" else a for a in names]
    try:
        lm = load(args.model, device=args.device)
    except ModelNotFound as e:
        raise UserError(str(e)) from None
    args.out.mkdir(parents=True, exist_ok=True)
    generators = {"fast": fast.generate, "plain": plain.generate}
    rows = []
    for version, engine in itertools.product(
        dict.fromkeys(versions), dict.fromkeys(args.engine or ["fast"])
    ):
        lm.use_adapter(version)
        label = f"{lm.name}+{version}" if version else f"{lm.name} (zero-shot)"
        label += f" [{engine}]" if args.engine else ""
        fast.fallbacks.clear()
        for set_name, asked in sets.items():
            requests, refused = quality.accepted(asked)
            print(f"{label}: {set_name}, {len(requests)} requests ...", file=sys.stderr)
            results, seconds = quality.run_set(
                lm,
                requests,
                n=args.candidates,
                batch=args.batch,
                sampling=SamplingParams(max_new_tokens=args.max_new_tokens, seed=args.seed),
                generator=generators[engine],
            )
            if engine == "fast" and fast.fallbacks:  # the plain path answered: say so
                label += " [fell back to plain]"
            rows.append(quality.score(label, set_name, requests, results, seconds, refused))
            detail = args.out / f"details_{version or 'base'}_{engine}_{set_name}.jsonl"
            detail.write_text(
                "".join(json.dumps(d) + "\n" for d in quality.details(requests, results))
            )
    table = quality.markdown(rows)
    device = str(lm.device)
    if lm.device.type == "cuda":
        import torch

        device = torch.cuda.get_device_name(lm.device)
    stamp = f"{time.strftime('%Y-%m-%d %H:%M')}, device {device}, {args.candidates} candidates"
    (args.out / "bench_quality.md").write_text(f"{stamp}\n\n{table}\n")
    (args.out / "bench_quality.json").write_text(json.dumps([asdict(r) for r in rows], indent=2))
    quality.plot(rows, args.out / "bench_quality.png")
    print(json.dumps([asdict(r) for r in rows], indent=2) if args.json else f"{stamp}\n\n{table}")
    print(f"wrote {args.out}/bench_quality.md, .json, .png", file=sys.stderr)
    return 0


def _load(args: argparse.Namespace) -> object:
    from engine.llm.load import ModelNotFound, load

    try:
        return load(args.model, device=args.device)
    except ModelNotFound as e:
        raise UserError(str(e)) from None


def _device_name(lm: object) -> str:
    if lm.device.type == "cuda":
        import torch

        return torch.cuda.get_device_name(lm.device)
    return str(lm.device)


def run_dev(args: argparse.Namespace, names: list[str]) -> int:
    """Per-kind faithfulness on the dev set, one block of rows per adapter version."""
    from engine.bench import quality
    from engine.llm import fast
    from engine.llm import generate as plain
    from engine.llm.load import latest_adapter
    from engine.pipeline import model_reads, spec_of

    if not args.dev.is_file():
        raise UserError(f"no dev set at {args.dev}")
    rows = quality.read_dev(args.dev)[: args.limit] if args.limit else quality.read_dev(args.dev)
    versions = [None if a == "none" else latest_adapter() if a == "latest" else a for a in names]
    lm = _load(args)
    args.out.mkdir(parents=True, exist_ok=True)
    engine = (args.engine or ["fast"])[0]
    generator = {"fast": fast.generate, "plain": plain.generate}[engine]
    table: list = []
    for version in dict.fromkeys(versions):
        lm.use_adapter(version)
        label = f"{lm.name}+{version}" if version else f"{lm.name} (no adapter)"
        label += " [model reads]" if args.model_reads else ""
        print(f"{label}: dev set, {len(rows)} requests ...", file=sys.stderr)
        got, details = quality.run_dev(
            lm,
            rows,
            label,
            n=args.candidates,
            batch=args.batch,
            sampling=SamplingParams(max_new_tokens=args.max_new_tokens, seed=args.seed),
            generator=generator,
            reader=model_reads if args.model_reads else spec_of,
        )
        table += got
        detail = args.out / f"dev_details_{version or 'base'}.jsonl"
        detail.write_text("".join(json.dumps(d) + "\n" for d in details))
    md = quality.kind_markdown(table)
    stamp = (
        f"{time.strftime('%Y-%m-%d %H:%M')}, device {_device_name(lm)}, {args.candidates} "
        f"candidates, {engine} engine, dev set {args.dev.name} ({len(rows)} requests)"
    )
    (args.out / "bench_quality_dev.md").write_text(f"{stamp}\n\n{md}\n")
    (args.out / "bench_quality_dev.json").write_text(
        json.dumps([asdict(r) for r in table], indent=2)
    )
    print(json.dumps([asdict(r) for r in table], indent=2) if args.json else f"{stamp}\n\n{md}")
    print(f"wrote {args.out}/bench_quality_dev.md, .json, dev_details_*.jsonl", file=sys.stderr)
    return 0
