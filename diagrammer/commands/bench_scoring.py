"""`diagrammer bench scoring`: where the engine's scoring time goes, 8 candidates a request,
and the worker pool's speed-up side by side, without the language model.

Requests are training/data/synth.py's v2 mix (networks, stacks, data flows, graphs, flows,
catalogue names) plus a few catalogue entries by name; each request's 8 candidates are
its sketch and the same structure with 7 other examples' styles (what the model writes: the
structure the request states, its own taste). Per request the stages run one after another
on this thread: read (engine.pipeline.read: sketch parse, layout, validation, metrics,
fidelity), render_array, preprocess (both models' inputs), CNN and auto-encoder encoder
(at torch's thread count, and at one thread as the pool's workers run them), image
descriptors, content blocks, kNN (a user with 20 ratings), rank.order and PNG of the 3
shown; wall and this process's CPU time (all its threads), the median over requests (the
machine may be shared: CPU time is what the stage costs).

Then end to end, interleaved request by request: read_many with each request's UserRanker
as the engine has it without a pool (sequential) and with engine/scoring/workers.Pool
(os.cpu_count() processes), the same rankings and PNG bytes checked; and a whole batch of
all the requests at once (the engine's batches) both ways.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

HELP = "where scoring 8 candidates' time goes, sequential vs the worker pool"
PER_REQUEST = 8
SHOWN = 3
RATINGS = 20
STAGES = (
    "read",
    "render",
    "preprocess",
    "cnn",
    "cnn 1 thread",
    "autoencoder",
    "autoencoder 1 thread",
    "descriptors",
    "content",
    "knn",
    "rank",
    "png",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--requests", type=int, default=12, help="synthetic requests")
    parser.add_argument("--catalogue", type=int, default=4, help="catalogue entries by name")
    parser.add_argument("--rounds", type=int, default=3, help="end-to-end rounds")
    parser.add_argument("--workers", type=int, default=0, help="pool size (0: the cores)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("out/bench"), help="plot and JSON here")


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from diagrammer.errors import UserError
    from engine.scoring.profile import Models
    from engine.scoring.workers import Pool

    if args.requests + args.catalogue < 1 or args.rounds < 1:
        raise UserError("--requests + --catalogue and --rounds must be at least 1")
    models = Models.shipped("cpu")
    requests = _requests(args.requests, args.catalogue, args.seed)
    profile = _profile(models, args.seed)
    threads = torch.get_num_threads()
    cores = os.cpu_count() or 1
    print(f"{len(requests)} requests x {PER_REQUEST} candidates; {cores} cores; torch threads")
    print(f"{threads}; a user with {RATINGS} ratings; ms per request of {PER_REQUEST} candidates")

    stages = {s: ([], []) for s in STAGES}
    for r in requests:
        for name, (wall, cpu) in _stages(r, models, profile).items():
            stages[name][0].append(wall)
            stages[name][1].append(cpu)
    table = {
        name: {"wall_ms": float(np.median(w)), "cpu_ms": float(np.median(c))}
        for name, (w, c) in stages.items()
    }
    print(f"\n{'stage':>20} {'wall ms':>9} {'CPU ms':>9}")
    for name, row in table.items():
        print(f"{name:>20} {row['wall_ms']:>9.1f} {row['cpu_ms']:>9.1f}")
    summed = [v for n, v in table.items() if not n.endswith("1 thread")]
    total = {k: sum(v[k] for v in summed) for k in ("wall_ms", "cpu_ms")}
    print(f"{'sum':>20} {total['wall_ms']:>9.1f} {total['cpu_ms']:>9.1f}", end="")
    print(f"  (the CNN and AE at {threads} threads)")

    pool = Pool(models, args.workers or None)
    pool.warm()
    try:
        e2e = _end_to_end(requests, models, profile, pool, args.rounds)
    finally:
        pool.close()
    print(f"\nend to end, read_many, {pool.workers} workers; interleaved, {args.rounds} rounds")
    print(f"{'':>22} {'sequential':>11} {'pool':>9} {'ratio':>7}")
    for key, label in (("request", "one request, ms p50"), ("batch", "whole batch, ms p50")):
        s, p = e2e[key]["sequential"], e2e[key]["pool"]
        print(f"{label:>22} {s:>11.0f} {p:>9.0f} {s / p:>6.2f}x")
    s, p = e2e["request_cpu"]["sequential"], e2e["request_cpu"]["pool"]
    print(f"{'CPU ms a request':>22} {s:>11.0f} {p:>9.0f}  (this process and the workers)")
    print(f"same order and PNG bytes: {e2e['same']}; largest score difference {e2e['diff']:.2g}")

    args.out.mkdir(parents=True, exist_ok=True)
    result = {"stages": table, "end_to_end": e2e, "cores": cores, "torch_threads": threads}
    (args.out / "scoring.json").write_text(json.dumps(result, indent=2) + "\n")
    _plot(table, e2e, pool.workers, args.out / "scoring.png")
    print(f"\nwrote {args.out / 'scoring.png'} and {args.out / 'scoring.json'}")
    return 0


def _requests(n: int, entries: int, seed: int) -> list[tuple[str, list[str]]]:
    """(description, 8 candidate texts) per request (see the module docstring)."""
    from engine.catalogue import catalogue
    from engine.diagram.sketch import parse_sketch, sketch_to_text, structure_text, style_text
    from training.data.synth import examples

    made = list(examples(n + PER_REQUEST, seed, version=2))
    styles = [style_text(e.sketch) for e in made]
    out = []
    for i, e in enumerate(made[:n]):
        own = sketch_to_text(e.sketch)
        structure = structure_text(e.sketch)
        out.append((e.description, [own] + [f"{structure}\n{styles[i + k]}" for k in range(1, 8)]))
    for entry in catalogue.entries()[:entries]:
        sketch, _ = parse_sketch(entry.sketch_text)
        structure = structure_text(sketch) if sketch else entry.sketch_text
        texts = [entry.sketch_text] + [f"{structure}\n{styles[k]}" for k in range(1, 8)]
        out.append((entry.name, texts))
    return out


def _sampled(requests: list[tuple[str, list[str]]]):
    """Those requests as sample_many would hand them to read_many."""
    from engine.llm.generate import Generation
    from engine.pipeline import Sampled, check, spec_of

    texts = [check(d) for d, _ in requests]
    gens = [[Generation(t, 60, True, 0.0) for t in cands] for _, cands in requests]
    specs = [spec_of(t) for t in texts]
    return Sampled(texts, specs, [""] * len(texts), gens, "bench", None, time.perf_counter(), 0.0)


def _profile(models, seed: int):
    """A user who rated RATINGS diagrams of other requests (random ratings)."""
    import numpy as np

    from engine.pipeline import read
    from engine.scoring import cnn
    from engine.scoring.profile import Profile

    sampled = _sampled(_requests(RATINGS // PER_REQUEST + 1, 0, seed + 1))
    diagrams = [
        c.diagram
        for spec, batch in zip(sampled.specs, sampled.generations, strict=True)
        for c in (read(g, spec) for g in batch)
        if c.parsed
    ][:RATINGS]
    images = [_render(d) for d in diagrams]
    readability = cnn.score_images(models.cnn, images)
    ratings = np.random.default_rng(seed).integers(1, 6, len(images)).astype(np.float64)
    return Profile(models.taste(images, diagrams), ratings, readability.astype(np.float64))


def _render(diagram):
    from engine.diagram.render import render_array

    return render_array(diagram)


def _stages(request, models, profile) -> dict[str, tuple[float, float]]:
    """(wall ms, CPU ms) of each stage for one request's candidates."""
    import numpy as np
    import torch

    from engine.diagram.render import encode_png
    from engine.pipeline import read
    from engine.scoring import autoencoder, cnn, content, descriptors
    from engine.scoring.drawing import as_float
    from engine.scoring.preprocess import DEFAULT_SIZE, shrink
    from engine.scoring.rank import order

    sampled = _sampled([request])
    spec, gens = sampled.specs[0], sampled.generations[0]
    out: dict[str, tuple[float, float]] = {}

    def timed(name, fn):
        t0, c0 = time.perf_counter(), time.process_time()  # all threads: torch's too
        value = fn()
        out[name] = ((time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000)
        return value

    candidates = timed("read", lambda: [read(g, spec) for g in gens])
    diagrams = [c.diagram for c in candidates if c.parsed]
    images = timed("render", lambda: [_render(d) for d in diagrams])
    size = models.cnn.input_size
    cnn_in, ae_in = timed(
        "preprocess",
        lambda: ([shrink(i, size) for i in images], [shrink(i, DEFAULT_SIZE) for i in images]),
    )
    readability = timed("cnn", lambda: cnn.score_batch(models.cnn, as_float(cnn_in)))
    latents = timed("autoencoder", lambda: models.embedder.latents(as_float(ae_in)))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # what a worker of the pool runs with
    try:
        timed("cnn 1 thread", lambda: cnn.score_batch(models.cnn, as_float(cnn_in)))
        timed("autoencoder 1 thread", lambda: models.embedder.latents(as_float(ae_in)))
    finally:
        torch.set_num_threads(threads)
    desc = timed(
        "descriptors",
        lambda: np.stack(
            [
                descriptors.describe(i, a.astype(np.float32) / 255)
                for i, a in zip(images, ae_in, strict=True)
            ]
        ),
    )
    raw = {"latent": latents, **{n: desc[:, s] for n, s in descriptors.BLOCKS.items()}}
    image = autoencoder.combine(raw, models.embedder.stats)
    emb = timed("content", lambda: content.combine(image, models.embedder.blocks, diagrams))
    exp = timed("knn", lambda: profile.expected(emb, readability, models.blocks))
    from dataclasses import replace

    parsed = [c for c in candidates if c.parsed]
    scored = [
        replace(c, cnn_readability=float(r), expected_rating=float(x), embedding=e)
        for c, r, x, e in zip(parsed, readability, exp.rating, emb, strict=True)
    ]
    picked = timed("rank", lambda: order(scored, profile.n, SHOWN))
    timed("png", lambda: [encode_png(images[i]) for i in picked[:SHOWN]])
    return out


def _end_to_end(requests, models, profile, pool, rounds: int) -> dict:
    """read_many without and with the pool, interleaved; the orders and PNGs compared."""
    import numpy as np

    from engine.pipeline import read_many
    from engine.scoring.user_rank import UserRanker

    walls = {k: {"sequential": [], "pool": []} for k in ("request", "batch", "request_cpu")}
    same, diff = True, 0.0

    def both(sampled, key):
        nonlocal same, diff
        got = {}
        for mode in ("sequential", "pool"):
            rankers = [UserRanker(models, profile, SHOWN) for _ in sampled.texts]
            t0, c0 = time.perf_counter(), time.process_time() + pool.cpu_seconds()
            got[mode] = read_many(sampled, rankers, pool if mode == "pool" else None)
            walls[key][mode].append((time.perf_counter() - t0) * 1000)
            if key == "request":
                cpu = time.process_time() + pool.cpu_seconds() - c0
                walls["request_cpu"][mode].append(cpu * 1000)
        for a, b in zip(got["sequential"], got["pool"], strict=True):
            same &= [c.node_text for c in a.candidates] == [c.node_text for c in b.candidates]
            same &= [c.png for c in a.candidates] == [c.png for c in b.candidates]
            for x, y in zip(a.candidates, b.candidates, strict=True):
                if x.embedding is not None:
                    diff = max(diff, float(np.abs(x.embedding - y.embedding).max()))
                    diff = max(diff, abs(x.expected_rating - y.expected_rating))
                    diff = max(diff, abs(x.cnn_readability - y.cnn_readability))

    for _ in range(rounds):
        for r in requests:
            both(_sampled([r]), "request")
        both(_sampled(requests), "batch")
    out = {k: {m: float(np.median(v)) for m, v in modes.items()} for k, modes in walls.items()}
    return out | {"same": bool(same), "diff": diff, "requests": len(requests)}


def _plot(table: dict, e2e: dict, workers: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4), dpi=110, width_ratios=(2, 1))
    names = list(table)
    y = range(len(names))
    ax.barh([i + 0.2 for i in y], [table[n]["cpu_ms"] for n in names], 0.4, label="CPU")
    ax.barh([i - 0.2 for i in y], [table[n]["wall_ms"] for n in names], 0.4, label="wall")
    ax.set_yticks(list(y), names)
    ax.invert_yaxis()
    ax.set_xlabel(f"ms per request of {PER_REQUEST} candidates (median)")
    ax.set_title("scoring stages, one thread after another")
    ax.legend()
    ax.grid(alpha=0.3, axis="x")
    modes = ("sequential", "pool")
    per = [e2e["request"][m] for m in modes]
    batch = [e2e["batch"][m] / e2e["requests"] for m in modes]
    bx.bar([0, 1], per, 0.4, label="one request at a time")
    bx.bar([0.4, 1.4], batch, 0.4, label="per request, whole batch")
    bx.set_xticks([0.2, 1.2], ["sequential", f"pool ({workers} workers)"])
    bx.set_ylabel("ms per request of 8 (p50)")
    bx.set_title("read_many end to end")
    bx.legend()
    bx.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
