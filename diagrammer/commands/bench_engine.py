"""`diagrammer bench engine`: requests per minute and latency of the HTTP engine under load.

Closed-loop load: at each concurrency level, that many clients each send a request, wait for
the answer and send the next, until `--requests` are answered; requests come from `--users`
different users and vary in structure. Latency is the client's wall clock from sending the
POST to having the whole JSON answer (queueing, generation, ranking, storing, PNGs in
base64). By default `diagrammer engine` is started in a process of its own (as the bot meets
it) on a free loopback port with a fresh data directory (--backend, --model, --adapter,
--device choose its model; on CUDA it generates through engine/llm/fast.py, as served);
`--url` measures a running one instead. The table's
title says where it ran: the card's name on a GPU, and whether the fast path answered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from diagrammer.errors import UserError

HELP = "requests per minute and latency percentiles of the engine under concurrent load"
DESCRIPTIONS = (
    "a neural network with 2 input nodes, 4 and 6 nodes in two hidden layers and 1 output node",
    "an MLP with 3 inputs, one hidden layer of 5 and 2 outputs",
    "flowchart: load data, clean data, train model, evaluate, deploy",
    "a perceptron with 4 inputs and 1 output",
    "a network with layers of 6, 8, 8 and 3",
    "pipeline: collect images, label them, train a CNN, test it",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated client counts")
    parser.add_argument("--requests", type=int, default=48, help="answered requests per level")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--backend", choices=("pipeline", "demo"), help="the started engine's")
    parser.add_argument("--model", help="the started engine's model: default, a .gguf, a folder")
    parser.add_argument("--adapter", help="the started engine's adapter: latest, none, v1, ...")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), help="the started engine's")
    parser.add_argument("--url", help="bench a running engine (needs --secret or ENGINE_SECRET)")
    parser.add_argument("--secret", help="the running engine's shared secret")
    parser.add_argument("--out", type=Path, default=Path("out/bench"), help="plot and JSON here")


def run(args: argparse.Namespace) -> int:
    try:
        levels = [int(x) for x in args.concurrency.split(",")]
    except ValueError:
        raise UserError("--concurrency must be comma-separated integers, e.g. 1,4,16") from None
    if min(levels) < 1 or args.requests < 1 or args.users < 1:
        raise UserError("--concurrency, --requests and --users must be at least 1")
    if not 1 <= args.top <= args.candidates <= 16:
        raise UserError("need 1 <= --top <= --candidates <= 16")
    rows, device = asyncio.run(_bench(args, levels))
    _table(rows, device, args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "engine.json").write_text(json.dumps({"device": device, "rows": rows}, indent=1))
    _plot(rows, device, args.out / "engine.png")
    print(f"\nwrote {args.out / 'engine.png'} and {args.out / 'engine.json'}", file=sys.stderr)
    return 0


async def _bench(args: argparse.Namespace, levels: list[int]) -> tuple[list[dict], str]:
    if args.url:
        secret = args.secret or os.environ.get("ENGINE_SECRET")
        if not secret:
            raise UserError("--url needs --secret (or ENGINE_SECRET)")
        return [await _level(args.url, secret, c, args) for c in levels], "remote engine"
    with _engine_process(args, levels) as (url, secret):
        rows = [await _level(url, secret, c, args) for c in levels]
        return rows, _device(args, await _fetch_stats(url, secret))


@contextmanager
def _engine_process(args: argparse.Namespace, levels: list[int]) -> Iterator[tuple[str, str]]:
    """`diagrammer engine` in a process of its own on a free loopback port with a fresh data
    directory, as the bot meets it: clients in this process would share its event loop and
    GIL (on one H200 that understated it by 5-25%, docs/notes-engine.md)."""
    secret = secrets.token_hex(16)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    keys = ("backend", "model", "adapter", "device")
    given = [f"--{key}={value}" for key in keys if (value := getattr(args, key))]
    env = {
        **os.environ,
        "ENGINE_SECRET": secret,
        "ENGINE_RETRAIN_INTERVAL_MIN": "0",
        "ENGINE_QUEUE_MAX": str(4 * max(levels)),
        "ENGINE_QUEUE_MAX_PER_USER": "64",
    }
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as data:
        log = Path(data) / "engine.log"
        command = [sys.executable, "-m", "diagrammer", "engine", "--host", "127.0.0.1"]
        command += ["--port", str(port), "--data-dir", str(Path(data) / "data")]
        command += given
        print(f"starting the engine: {' '.join(command[2:])} ...", file=sys.stderr)
        with log.open("wb") as out:
            engine = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(url, engine, log)
            yield url, secret
        finally:
            engine.terminate()
            try:
                engine.wait(timeout=30)
            except subprocess.TimeoutExpired:
                engine.kill()
                engine.wait()


def _wait_until_up(url: str, engine: subprocess.Popen, log: Path, limit_s: float = 600) -> None:
    """Until /healthz answers; the engine's own last lines when it exits or never answers."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if engine.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise UserError("the engine exited before answering:\n" + "\n".join(tail))
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise UserError(f"the engine did not answer {url}/healthz within {limit_s:.0f} s")


async def _level(url: str, secret: str, clients: int, args: argparse.Namespace) -> dict:
    import aiohttp
    import numpy as np

    headers = {"Authorization": f"Bearer {secret}"}
    latencies: list[float] = []
    refused = failed = 0
    sent = 0

    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=clients),
        timeout=aiohttp.ClientTimeout(total=600),
    ) as session:

        async def one(i: int) -> int:
            body = {
                "user_id": f"bench-user-{i % args.users}",
                "description": f"{DESCRIPTIONS[i % len(DESCRIPTIONS)]} (#{i})",
                "candidates": args.candidates,
                "top": args.top,
            }
            t0 = time.perf_counter()
            async with session.post(f"{url}/v1/diagrams", json=body, headers=headers) as r:
                await r.read()
                if r.status == 200:
                    latencies.append(time.perf_counter() - t0)
                elif r.status == 429:
                    await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
                return r.status

        async def client() -> None:
            nonlocal sent, refused, failed
            while len(latencies) < args.requests and sent < 4 * args.requests:
                sent += 1
                status = await one(sent)
                refused += status == 429
                failed += status not in (200, 429)

        await one(0)  # warm-up, not counted (first model call, caches)
        latencies.clear()
        before = await _stats(session, url, headers)
        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        wall = time.perf_counter() - start
        after = await _stats(session, url, headers)
    ms = np.asarray(latencies) * 1000
    batches = after["batches"]["count"] - before["batches"]["count"]
    done = after["requests"].get("done", 0) - before["requests"].get("done", 0)
    row: dict[str, Any] = {
        "clients": clients,
        "answered": len(latencies),
        "refused_429": refused,
        "failed": failed,
        "requests_per_min": 60 * len(latencies) / wall,
        "candidates_per_s": len(latencies) * args.candidates / wall,
        "mean_batch_requests": done / batches if batches else None,
        # the share of the wall time the model (the GPU, on a GPU) was generating
        "model_share": (after.get("model_busy_s", 0) - before.get("model_busy_s", 0)) / wall,
    }
    for q in (50, 95, 99):
        row[f"p{q}_ms"] = float(np.percentile(ms, q)) if len(ms) else None
    print(f"  {clients} clients: {row['requests_per_min']:.0f} requests/min", file=sys.stderr)
    return row


async def _stats(session: Any, url: str, headers: dict[str, str]) -> dict:
    async with session.get(f"{url}/v1/stats", headers=headers) as r:
        return await r.json()


async def _fetch_stats(url: str, secret: str) -> dict:
    import aiohttp

    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {secret}"}) as session:
        return await _stats(session, url, {})


def _device(args: argparse.Namespace, stats: dict) -> str:
    """Where the engine this bench started ran: the card's name on a GPU, the model, the
    adapter and which generation path answered (engine/llm/fast.py, or the plain one it fell
    back to, as its /v1/stats counts)."""
    import platform

    cpu = f"CPU ({platform.processor() or platform.machine()})"
    if args.backend == "demo":
        return f"{cpu}, demo backend: no language model"
    import torch

    gpu = args.device == "cuda" or (args.device in (None, "auto") and torch.cuda.is_available())
    where = f"GPU {torch.cuda.get_device_name(0)}" if gpu else cpu
    fell_back = stats.get("decoder_fallbacks", {}).get("count", 0)
    generation = "plain generation (the fast path fell back)" if fell_back else "fast generation"
    model = f"{args.model or 'default model'} + adapter {args.adapter or 'latest'}"
    return f"{where}, pipeline backend in its own process: {model}, {generation}"


def _table(rows: list[dict], device: str, args: argparse.Namespace) -> None:
    print(f"engine under closed-loop load: {device}")
    print(
        f"{args.requests} answered requests per level, {args.users} users, "
        f"{args.candidates} candidates, top {args.top}; latency = client wall clock per request;"
        " model = share of the wall time the model spent generating"
    )
    head = ("clients", "req/min", "cand/s", "p50 ms", "p95 ms", "p99 ms", "batch", "model",
            "429", "fail")  # fmt: skip
    print(" ".join(f"{h:>8}" for h in head))
    for r in rows:
        batch = r["mean_batch_requests"]
        cells = [f"{r['clients']:>8}", f"{r['requests_per_min']:>8.0f}"]
        cells += [f"{r['candidates_per_s']:>8.1f}"]
        for key in ("p50_ms", "p95_ms", "p99_ms"):
            cells.append(f"{r[key]:>8.0f}" if r[key] is not None else f"{'-':>8}")
        cells += [f"{batch:>8.2f}" if batch else f"{'-':>8}"]
        cells += [f"{r['model_share']:>8.0%}"]
        cells += [f"{r['refused_429']:>8}", f"{r['failed']:>8}"]
        print(" ".join(cells))


def _plot(rows: list[dict], device: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clients = [r["clients"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(clients, [r["requests_per_min"] for r in rows], "o-")
    left.set(xlabel="concurrent clients", ylabel="answered requests / min", xscale="log")
    left.set_title("throughput")
    for q, style in (("p50_ms", "o-"), ("p95_ms", "s--"), ("p99_ms", "^:")):
        right.plot(clients, [r[q] for r in rows], style, label=q.split("_")[0])
    right.set(xlabel="concurrent clients", ylabel="latency (ms)", xscale="log")
    right.set_title("latency per request")
    right.legend()
    for ax in (left, right):
        ax.set_xticks(clients, [str(c) for c in clients])
        ax.grid(alpha=0.3)
    fig.suptitle(f"diagrammer engine: {device}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
