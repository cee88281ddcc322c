"""`diagrammer bench personalization`: does the ranker learn what a simulated user likes?"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from diagrammer.errors import UserError

if TYPE_CHECKING:
    from engine.scoring.knn import Population
    from training import simulate_users as sim

Log = Callable[[str], None]

HELP = "simulated users with hidden tastes rate what the ranker shows; learning curves"
# training.simulate_users.FAMILIES (not imported here: the CLI starts without numpy/torch)
FAMILIES = ("classic", "colour", "lines", "labels", "kind", "kind-dir", "contrast", "size", "flat")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", type=int, default=100, help="simulated users")
    parser.add_argument("--requests", type=int, default=120, help="requests in the shared pool")
    parser.add_argument("--out", type=Path, default=Path("out/bench_personalization"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu, cuda (scoring the pool)")
    parser.add_argument(
        "--embedding",
        choices=("content", "image"),
        default="content",
        help="the engine's (auto-encoder + node-list content blocks) or the image part alone",
    )
    parser.add_argument(
        "--population-users",
        type=int,
        default=100,
        help="other simulated users whose ratings teach the kNN (0: learn nothing)",
    )
    parser.add_argument(
        "--families",
        default=",".join(FAMILIES),
        help=f"taste families of the simulated users, in turn (default: all of {FAMILIES})",
    )
    parser.add_argument(
        "--speed",
        action="store_true",
        help="only time fitting and ranking for 10 / 100 / 1,000 ratings (no simulated users)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args: argparse.Namespace) -> int:
    from training import simulate_users as sim

    if args.users < 1:
        raise UserError("--users must be at least 1")
    if args.requests < sim.EVAL_REQUESTS + 20:
        raise UserError(f"--requests must be at least {sim.EVAL_REQUESTS + 20}")
    if args.population_users < 0:
        raise UserError("--population-users must be 0 or more")
    families = tuple(f.strip() for f in args.families.split(",") if f.strip())
    unknown = sorted(set(families) - set(sim.FAMILIES))
    if unknown or not families:
        raise UserError(f"unknown taste families {unknown}: choose from {sim.FAMILIES}")
    args.families = families
    from engine.scoring import autoencoder, cnn

    try:
        embedder = autoencoder.load(device=args.device)
        model = cnn.load(device=args.device)
    except FileNotFoundError as e:
        raise UserError(f"{e.filename} is missing: run `diagrammer train ae` / `train cnn`") from e
    log = lambda line: print(line, file=sys.stderr)  # noqa: E731
    started = time.time()
    pool = sim.build_pool(args.requests, embedder, model, args.seed, progress=True)
    if args.embedding == "image":
        pool = sim.image_only(pool)
    pooled = time.time()
    population = _population(pool, args, log)
    learnt = time.time()
    if args.speed:
        speed = sim.knn_speed(pool, population)
        growing = growing_speed(pool, population)
        out = {"knn_speed": speed, "growing": growing}
        dim = pool.embeddings.shape[1]
        print(json.dumps(out, indent=2) if args.json else _speed(speed, dim, growing))
        return 0
    result = sim.simulate(
        pool, args.users, args.seed, progress=True, population=population, families=families
    )
    ideal_pool = sim.with_true_attributes(pool)
    ideal_population = _population(ideal_pool, args)
    ideal = sim.simulate(
        ideal_pool, args.users, args.seed, False, population=ideal_population, families=families
    )
    result |= {
        "ideal_embedding_rows": ideal["rows"],
        "ideal_embedding_families": ideal["families"],
        "requests": args.requests,
        "candidates": sim.CANDIDATES,
        "shown": sim.SHOWN,
        "embedding": args.embedding,
        "population": _describe(population, args.population_users),
        "seconds": {
            "pool": round(pooled - started, 1),
            "population": round(learnt - pooled, 1),
            "users": round(time.time() - learnt, 1),
        },
        "knn_speed": sim.knn_speed(pool, population),
        "knn_speed_growing": growing_speed(pool, population),
        "embedding_dim": int(pool.embeddings.shape[1]),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "personalization.json").write_text(json.dumps(result, indent=2) + "\n")
    sim.plot(result, str(args.out / "personalization.png"), log)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(_table(result))
    return 0


def _population(pool: sim.Pool, args: argparse.Namespace, log: Log | None = None) -> Population:
    """What the other users' ratings teach (population.learn), or the default lesson."""
    from engine.scoring import knn, population
    from training import simulate_users as sim

    if args.population_users <= 0:
        return knn.Population()
    histories = sim.everyone(
        pool, args.population_users, seed=args.seed + 1, families=args.families
    )
    return population.learn(histories, pool.blocks, log=log)


def _describe(pop: Population, users: int) -> dict:
    patterns = 0 if pop.patterns is None else len(pop.patterns)
    return {"users": users, "slope": round(pop.slope, 3), "offset": round(pop.offset, 3),
            "noise": pop.noise, "patterns": patterns}  # fmt: skip


def _table(result: dict) -> str:
    head = (
        f"{'ratings':>7} {'random':>7} {'readab.':>7} {'ranker':>7} {'oracle':>7} "
        f"{'gap closed':>10} {'pairwise':>8} {'clean pairs':>11}   "
        "ideal embedding: gap, pairwise"
    )
    pop = result["population"]
    lesson = (
        f"learnt from {pop['users']} other users' ratings: prior slope {pop['slope']}, "
        f"noise {pop['noise']}, {pop['patterns']} taste patterns"
        if pop["users"] > 0
        else "nothing learnt from other users"
    )
    lines = [
        f"{result['users']} simulated users, {result['requests']} requests x "
        f"{result['candidates']} candidates, top {result['shown']} shown and rated; "
        "true rating (1..5) of the top-1 shown on held-out requests",
        f"embedding: {result['embedding']} ({result['embedding_dim']} values); kNN {lesson}",
        head,
    ]
    for r, ideal in zip(result["rows"], result["ideal_embedding_rows"], strict=True):
        t = r["top1"]
        lines.append(
            f"{r['ratings']:>7} {t['random']:>7.2f} {t['readability']:>7.2f} {t['ranker']:>7.2f} "
            f"{t['oracle']:>7.2f} {r['gap_closed']:>10.0%} {r['pairwise_accuracy']:>8.1%} "
            f"{r['pairwise_accuracy_clean_pairs']:>11.1%}   "
            f"{ideal['gap_closed']:>5.0%} {ideal['pairwise_accuracy']:>8.1%}"
        )
    lines += ["", _families(result)]
    lines += ["", _speed(result["knn_speed"], result["embedding_dim"], result["knn_speed_growing"])]
    return "\n".join(lines)


def _speed(rows: list[dict], dim: int, growing: dict | None = None) -> str:
    """The knn_speed table: fit and rank milliseconds and the whole per candidate."""
    cases = {"first": "first request", "after_new_ratings": "after 3 new", "repeat": "repeat"}
    lines = [
        f"speed ({dim}-dim embeddings, one request of {rows[0]['candidates']} candidates; "
        "CPU fit ms + rank ms = ms per candidate)",
        f"{'ratings':>7}  " + "  ".join(f"{name:>26}" for name in cases.values()),
    ]
    for row in rows:
        cells = [
            f"{row[c]['fit_ms']:>7.1f} + {row[c]['rank_ms']:>5.1f} = "
            f"{row[c]['ms_per_candidate']:>6.2f}"
            for c in cases
        ]
        lines.append(f"{row['ratings']:>7}  " + "  ".join(f"{cell:>26}" for cell in cells))
    if growing:
        lines.append(
            f"a user who keeps rating ({growing['from']} -> {growing['to']} ratings, "
            f"{growing['step']} a request, {growing['requests']} requests): ms per candidate "
            f"median {growing['median']:.2f}, 90th percentile {growing['p90']:.2f}, "
            f"worst {growing['worst']:.2f}"
        )
    return "\n".join(lines)


def growing_speed(
    pool: sim.Pool,
    population: Population,
    start: int = 940,
    requests: int = 30,
    replays: int = 5,
) -> dict:
    """CPU ms per candidate of each request of a user who keeps rating: from `start`
    ratings (pool embeddings plus a little noise, random stars) 3 more a request, fit and
    rank, each request the fastest of `replays` replays of the whole sequence. knn_speed's
    "after new ratings" is one such request just after the profile was found; here the
    kept lists and evidence windows have grown request by request, as in the engine."""
    import numpy as np

    from engine.scoring import knn, neighbours
    from training import simulate_users as sim

    step, end = sim.NEW_RATINGS, start + sim.NEW_RATINGS * requests
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(pool.looks), end)
    noise = rng.normal(0, 0.01, (end, pool.embeddings.shape[1]))
    rated = (pool.embeddings[idx] + noise).astype(np.float32)
    ratings, prior = rng.integers(1, 6, end).astype(float), pool.prior[idx]
    cands = pool.requests[0]
    best = np.full(requests, np.inf)
    for _ in range(replays):
        neighbours.clear()
        knn.fit(rated[:start], ratings[:start], prior[:start], pool.blocks, population)
        for r, n in enumerate(range(start + step, end + 1, step)):
            began = time.process_time()
            fitted = knn.fit(rated[:n], ratings[:n], prior[:n], pool.blocks, population)
            sim.ranked(pool, fitted, cands)
            best[r] = min(best[r], time.process_time() - began)
    neighbours.clear()
    per = best * 1e3 / len(cands)
    return {"from": start, "to": end, "step": step, "requests": requests,
            "median": float(np.median(per)), "p90": float(np.percentile(per, 90)),
            "worst": float(per.max())}  # fmt: skip


def _families(result: dict) -> str:
    """Per taste family: pairwise accuracy and the share of the random -> oracle gap that
    the ranker (and, for comparison, readability alone) closes, at every checkpoint."""
    points = [r["ratings"] for r in result["rows"]]
    head = f"{'family':>9} {'users':>5}  " + "  ".join(f"{f'{n} ratings':>17}" for n in points)
    lines = [
        "per taste family: pairwise accuracy / gap closed (readability alone: pairwise / gap "
        "closed, readab.)",
        head + f"  {'readab.':>16}  ideal@20",
    ]
    ideal = result.get("ideal_embedding_families", {})
    for family, rows in result["families"].items():
        cells = "  ".join(f"{r['pairwise_accuracy']:>8.1%} / {r['gap_closed']:>5.0%}" for r in rows)
        best = next((r for r in ideal.get(family, []) if r["ratings"] == 20), None)
        tail = f"{best['pairwise_accuracy']:.1%}" if best else "-"
        users = result.get("family_users", {}).get(family, "")
        first = rows[0]  # readability alone does not learn: the same at every checkpoint
        alone = (
            f"{first['pairwise_accuracy_readability']:>8.1%} / "
            f"{first['gap_closed_readability']:>5.0%}"
        )
        lines.append(f"{family:>9} {users:>5}  {cells}  {alone}  {tail}")
    return "\n".join(lines)
