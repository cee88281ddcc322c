"""`diagrammer bench latency`: p50/p95 of one request's candidates, fast path vs plain; on
the CPU also against llama.cpp on the same GGUF file when llama-cpp-python is installed.
With --draw: whole `diagrammer draw` processes, decoder cache off against on
(engine/bench/draw_wall.py)."""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from diagrammer.errors import UserError

HELP = "time candidate generation: the fast decode path against plain generate(), side by side"
# Per device: (candidates, reps, plain reps, concurrent requests, long tokens, quality requests)
DEFAULTS = {"cuda": (8, 20, 3, 4, 700, 24), "cpu": (4, 5, 1, 0, 0, 0)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        action="append",
        help="default | deepseek-1.3b-shape (random weights) | .gguf | folder (repeatable); "
        "default: both on cuda, default on cpu",
    )
    parser.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    parser.add_argument("--adapter", default="latest", help="version, latest or none")
    parser.add_argument("--candidates", type=int, help="per request (cuda 8, cpu 4)")
    parser.add_argument("--reps", type=int, help="timed runs of the fast path (cuda 20, cpu 5)")
    parser.add_argument("--plain-reps", type=int, help="timed plain runs (cuda 3, cpu 1; 0: none)")
    parser.add_argument("--concurrent", type=int, help="requests batched together (cuda 4)")
    parser.add_argument("--tokens", type=int, help="fixed new tokens (default: mean natural)")
    parser.add_argument("--long", type=int, help="node-list baseline tokens (cuda 700; 0: skip)")
    parser.add_argument("--quality", type=int, help="requests for parse/fidelity rates (cuda 24)")
    parser.add_argument("--max-new-tokens", type=int, default=160, help="bound of natural runs")
    parser.add_argument("--agree-tokens", type=int, default=48, help="greedy agreement length")
    parser.add_argument("--out", type=Path, default=Path("out/bench"), help="table, json, png")
    parser.add_argument("--json", action="store_true", help="print JSON instead of markdown")
    parser.add_argument(
        "--draw",
        action="store_true",
        help="time whole `diagrammer draw` runs on the CPU, decoder cache off vs on "
        "(--reps of each, default 5; --candidates default 4)",
    )
    parser.add_argument("--description", default=None, help="what --draw draws")


def _settings(args: argparse.Namespace, device: str) -> None:
    names = ("candidates", "reps", "plain_reps", "concurrent", "long", "quality")
    for name, default in zip(names, DEFAULTS[device], strict=True):
        if getattr(args, name) is None:
            setattr(args, name, default)
    if args.candidates < 1 or args.reps < 1 or args.max_new_tokens < 1:
        raise UserError("--candidates, --reps and --max-new-tokens must be at least 1")


def _load(name: str, device: str, adapter: str) -> object:
    from engine.bench.latency import DEEPSEEK_SHAPE, deepseek_shape
    from engine.llm.load import ModelNotFound, latest_adapter, load

    if name == DEEPSEEK_SHAPE:
        return deepseek_shape(device)
    try:
        lm = load(name, device=device)
        version = (
            latest_adapter() if adapter == "latest" else None if adapter == "none" else adapter
        )
        if version:
            lm.use_adapter(version)
    except ModelNotFound as e:
        raise UserError(str(e)) from None
    return lm


def _gguf(name: str) -> Path | None:
    """The GGUF file a model source loads from, if it is one (llama.cpp reads only those)."""
    from engine.llm.load import DEFAULT_SOURCE, default_gguf

    if name == DEFAULT_SOURCE:
        return default_gguf()
    return Path(name) if name.endswith(".gguf") else None


def _versus_llama_cpp(
    args: argparse.Namespace,
    lm: object,
    report: object,
    ps: list[str],
    tokens: int,
    gguf: Path | None,
) -> None:
    """Ours and llama.cpp side by side, on the CPU, for a model that came from a GGUF file."""
    import torch

    from engine.bench import latency as bench
    from engine.bench import llamacpp

    if lm.device.type != "cpu" or gguf is None:
        return
    if not llamacpp.available():
        report.notes.append("llama.cpp: llama-cpp-python is not installed, no side-by-side row")
        return
    threads = torch.get_num_threads()
    print(f"{lm.name}: side by side with llama.cpp ({threads} threads) ...", file=sys.stderr)
    peer = llamacpp.Peer(gguf, threads)
    report.rows += bench.versus_llama_cpp(lm, peer, ps, args.candidates, tokens, args.reps)
    report.notes.append(
        f"llama.cpp: llama-cpp-python {llamacpp.version()}, {gguf.name} without the adapter "
        f"(ours merges it: same shapes), {threads} threads each, candidates one after another"
    )


def _one_model(
    args: argparse.Namespace, lm: object, report: object, tokens: int | None, gguf: Path | None
) -> int:
    """Every measurement of one model into `report`; returns the fixed token count used."""
    from engine.bench import latency as bench
    from engine.llm import fast

    real = lm.name != bench.DEEPSEEK_SHAPE
    asks = bench.requests(max(args.concurrent, args.quality, 1))
    ps = bench.prompts_for(lm, [t for t, _ in asks])
    one, n = ps[:1], args.candidates
    start = time.perf_counter()
    try:
        fast.decode(lm, one, n, max_new_tokens=8)
    except Exception:  # noqa: BLE001 - measure the eager steps rather than nothing
        traceback.print_exc()
        report.notes.append(f"{lm.name}: CUDA graphs failed (traceback on stderr): eager steps")
        fast.GRAPHS = False
        fast.forget(lm)
        fast.decode(lm, one, n, max_new_tokens=8)
    report.notes.append(
        f"{lm.name}: first call (decoder built, adapter merged, CUDA graphs captured) "
        f"{time.perf_counter() - start:.2f} s; adapter {lm.adapter}"
    )
    if real:
        print(f"{lm.name}: {n} candidates, natural stop ...", file=sys.stderr)
        rows = bench.measure(
            lm, f"1x{n} natural", one, n, args.max_new_tokens, True, args.reps, args.plain_reps
        )
        report.rows += rows
        if tokens is None and lm.adapter:
            tokens = max(1, round(rows[0].tokens))
            report.notes.append(f"fixed token count = {lm.name}+{lm.adapter} mean answer, {tokens}")
    if tokens is None:
        tokens = bench.NOMINAL_TOKENS
        report.notes.append(f"fixed token count = nominal sketch length {tokens} (no adapter)")
    print(f"{lm.name}: fixed {tokens} tokens ...", file=sys.stderr)
    report.rows += bench.measure(
        lm, f"1x{n} fixed", one, n, tokens, False, args.reps, args.plain_reps
    )
    if real:
        _versus_llama_cpp(args, lm, report, ps, tokens, gguf)
    if args.concurrent > 1:
        many = ps[: args.concurrent]
        report.rows += bench.measure(
            lm,
            f"{len(many)}x{n} fixed",
            many,
            n,
            tokens,
            False,
            max(3, args.reps // 4),
            min(1, args.plain_reps),
        )
    bandwidth = bench.bandwidth_gbs(lm.device)
    for rows in sorted({n, n * max(1, args.concurrent)}):
        report.floors.append(bench.step_floor(lm, rows, bandwidth))
    if bandwidth:
        report.notes.append(f"copy bandwidth {bandwidth:.0f} GB/s (read + write)")
    report.agreement.append(bench.agreement(lm, ps[:4], args.agree_tokens))
    if real and lm.adapter and args.quality:
        print(f"{lm.name}: quality on {args.quality} requests ...", file=sys.stderr)
        report.quality += bench.quality(lm, asks[: args.quality], n)
    if real and args.long:
        print(f"{lm.name}: {args.long}-token baseline ...", file=sys.stderr)
        report.rows += bench.measure(
            lm, f"1x{n} long", one, n, args.long, False, 1, min(1, args.plain_reps)
        )
    return tokens


def run_draw(args: argparse.Namespace) -> int:
    """--draw: cold (cache off) and warm (cache on) `draw` processes, side by side."""
    from engine.bench import draw_wall

    if (args.reps or 5) < 1 or (args.candidates or 4) < 1:
        raise UserError("--reps and --candidates must be at least 1")
    report = draw_wall.measure(
        args.reps or 5,
        description=args.description or draw_wall.DESCRIPTION,
        model=(args.model or ["default"])[0],
        adapter=args.adapter,
        candidates=args.candidates or 4,
    )
    _write(args, "bench_draw", report, draw_wall.markdown(report), draw_wall.plot)
    return 0 if report.same_sketches else 1


def run(args: argparse.Namespace) -> int:
    if args.draw:
        return run_draw(args)
    import torch

    from engine.bench import latency as bench
    from engine.llm import fast

    if args.device == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device here")
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    device = "cpu" if device == "auto" else device
    _settings(args, device)
    names = args.model or (["default", bench.DEEPSEEK_SHAPE] if device == "cuda" else ["default"])
    report = bench.Report(device=bench.device_name(torch.device(device)))
    tokens = args.tokens
    for name in names:
        print(f"loading {name} on {device} ...", file=sys.stderr)
        lm = _load(name, device, args.adapter)
        report.device = bench.device_name(lm.device)  # after load: it sets the CPU's threads
        tokens = _one_model(args, lm, report, tokens, _gguf(name))
        fast.forget(lm)
        del lm
        if device == "cuda":
            torch.cuda.empty_cache()
    report.notes += [f"fell back to the plain path: {why}" for why in sorted(fast.fallbacks)]
    _write(args, "bench_latency", report, bench.markdown(report), bench.plot)
    return 0


def _write(
    args: argparse.Namespace,
    stem: str,
    report: Any,
    table: str,
    plot: Callable[[Any, Path], None],
) -> None:
    """The report as <stem>.md, .json and .png under --out, and the table (or JSON) printed."""
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d %H:%M")
    (args.out / f"{stem}.md").write_text(f"{stamp}\n\n{table}\n")
    (args.out / f"{stem}.json").write_text(json.dumps(asdict(report), indent=2))
    plot(report, args.out / f"{stem}.png")
    print(json.dumps(asdict(report), indent=2) if args.json else f"{stamp}\n\n{table}")
    print(f"wrote {args.out}/{stem}.md, .json, .png", file=sys.stderr)
