"""What each rebuild does. Every body returns a JSON-able result for the jobs table.

Heavy work runs on the engine's jobs thread (training, and embedding with a network not yet
served) or, in small chunks, on its model thread (embedding with the served auto-encoder), so
requests keep being answered. A part the trainer does not do here comes back Skipped and is
recorded as skipped, not failed. Trained scorers are versions in the scorer registry
(engine/store/scorers.py). A body sees the engine only through a JobContext.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.bench.gate import decide
from engine.scoring.priors import UNKNOWN_READABILITY
from engine.service.backend import Backend, Skipped, Trainer
from engine.service.config import Settings
from engine.service.preferences import build_pairs, summary, write_jsonl
from engine.store import Store
from engine.store.preference_rows import read_rows
from engine.store.scorers import current_scorers, set_current_scorer

OnThread = Callable[..., Awaitable[Any]]  # (fn, *args): fn(*args) on one of the engine's threads
EMBED_CHUNK = 32  # diagrams per model-thread call: short enough not to hold up a batch


@dataclass(frozen=True)
class JobContext:
    """What a rebuild may use of the running engine."""

    store: Store
    settings: Settings
    backend: Backend
    trainer: Trainer
    on_model: OnThread  # the model thread: whatever uses or swaps what is served
    on_jobs: OnThread  # the jobs thread: training and other long work
    promote: Callable[[str], Awaitable[Any]]  # serve a model version that passed the gate


JobBody = Callable[[JobContext], Awaitable[dict[str, Any]]]


async def embeddings(ctx: JobContext) -> dict[str, Any]:
    """Fine-tune the auto-encoder once enough new diagrams were shown, then fill the gaps.

    "New": shown (stored with a picture) since the last fine-tune, whether or not the engine
    switched to it: one that measured worse than the served one is kept on disk, not served,
    and the count starts again rather than retrying on nearly the same data."""
    db, s = ctx.store, ctx.settings
    last = await db.jobs.last_part("embeddings", "trained")
    new = await db.diagrams.count(since=last["snapshot"] if last else 0.0, shown_only=True)
    result: dict[str, Any] = {"new_diagrams": new, "needed": s.ae_min_new_diagrams}
    result["trained"] = False
    if new >= s.ae_min_new_diagrams:
        result |= await _finetune_autoencoder(ctx)
    result["embedded"] = await _embed(ctx, rated_only=False, missing_only=True)
    return result


async def _finetune_autoencoder(ctx: JobContext) -> dict[str, Any]:
    """Fine-tune on the jobs thread, which also embeds every picture with the new network;
    switch only if its held-out reconstruction error is not worse, then rewrite every stored
    embedding at once (never a mix of old and new in a user's profile)."""
    db, data_dir = ctx.store, ctx.settings.data_dir
    snapshot = time.time()
    todo = await db.diagrams.images(rated_only=False, missing_embedding=False)
    # Each picture once, oldest first, with its node list (one picture: one diagram drawn).
    node_list = {h: text for _, h, text in reversed(todo)}
    pictures = list(dict.fromkeys(h for _, h, _ in todo))
    if len(pictures) < 2:
        return {"training": {"skipped": "fewer than 2 pictures to learn from"}}
    folder = _fresh(data_dir / "scorers" / "autoencoder")
    paths = [db.images.path(h) for h in pictures]
    texts = [node_list[h] for h in pictures]
    training = await ctx.on_jobs(ctx.trainer.autoencoder, paths, texts, folder)
    if isinstance(training, Skipped):
        return {"training": {"skipped": training.reason}}
    vectors = training.pop("embeddings")
    old, new = float(training["old_error"]), float(training["new_error"])
    result = {"trained": True, "snapshot": snapshot, "folder": str(folder)}
    result |= {"old_error": old, "new_error": new, "switched": new <= old, "training": training}
    if new > old:
        return result
    blobs = {h: np.asarray(v, np.float32).tobytes() for h, v in zip(pictures, vectors, strict=True)}
    await ctx.on_model(ctx.backend.use_scorer, "autoencoder", folder)
    set_current_scorer(data_dir, "autoencoder", folder)
    await db.diagrams.replace_embeddings([(i, blobs[h]) for i, h, _ in todo])
    result["rewritten"] = len(todo)
    # Stored since the snapshot, by the old network: cleared above, embedded now by the new.
    result["late"] = await _embed(ctx, rated_only=False, missing_only=False, since=snapshot)
    return result


async def profiles(ctx: JobContext) -> dict[str, Any]:
    """Make every user's kNN profile complete (embed rated diagrams that lack an embedding),
    then learn from everyone's ratings what each profile's kNN should (population.py).

    The profile itself (embeddings and scores of the user's ratings) is read fresh from the
    store for each request, so a new rating counts at once."""
    embedded = await _embed(ctx, rated_only=True, missing_only=True)
    return {
        "embedded": embedded,
        "users": await ctx.store.ratings.users(),
        "ratings": await ctx.store.ratings.count(),
        "population": await _learn_population(ctx),
    }


async def _learn_population(ctx: JobContext) -> dict[str, Any]:
    """population.learn over every user's ratings, saved as a scorer version and served."""
    # Deferred: scipy (and torch, in _histories) load when a rebuild runs, not when the service
    # starts: the demo engine serves without them.
    from engine.scoring import population

    dim, blocks = await ctx.on_model(lambda: (ctx.backend.dim, ctx.backend.blocks))
    histories = _histories(await ctx.store.diagrams.ratings_by_user(), dim)
    ratings = sum(len(h.ratings) for h in histories)
    if ratings < population.MIN_CALIBRATION:
        return {"skipped": f"{ratings} ratings, {population.MIN_CALIBRATION} needed"}
    blocks = blocks or (slice(0, dim),)
    learnt = await ctx.on_jobs(population.learn, histories, blocks)
    folder = _fresh(ctx.settings.data_dir / "scorers" / "population")
    await ctx.on_jobs(population.save, learnt, folder / population.FILE)
    await ctx.on_model(ctx.backend.use_scorer, "population", folder)
    set_current_scorer(ctx.settings.data_dir, "population", folder)
    patterns = 0 if learnt.patterns is None else len(learnt.patterns)
    return {"folder": str(folder), "users": len(histories), "ratings": ratings,
            "slope": learnt.slope, "noise": learnt.noise, "patterns": patterns}  # fmt: skip


def _histories(rows: list[Any], dim: int) -> list[Any]:
    """population.History per user from the store's rows (embeddings of the served width)."""
    from engine.scoring import cnn, population  # as in _learn_population; cnn: torch

    by_user: dict[str, list[Any]] = {}
    for row in rows:
        if len(row["embedding"]) == 4 * dim:
            by_user.setdefault(row["user_id"], []).append(row)
    out = []
    for user_rows in by_user.values():
        readability = [r["cnn_readability"] for r in user_rows]
        stored = np.array([UNKNOWN_READABILITY if r is None else r for r in readability])
        shown = [r["shown_expected"] for r in user_rows]
        out.append(
            population.History(
                np.stack([np.frombuffer(r["embedding"], np.float32) for r in user_rows]),
                np.array([r["score"] for r in user_rows], np.float64),
                cnn.target_to_rating(stored),
                np.array([np.nan if x is None else x for x in shown], np.float64),
            )
        )
    return out


async def preferences(ctx: JobContext) -> dict[str, Any]:
    """ORPO pairs from the ratings and candidates so far, as a fresh JSONL file."""
    s = ctx.settings
    path = s.data_dir / "preferences" / f"pairs-{_stamp()}.jsonl"

    def build() -> dict[str, Any]:
        written, ratings = read_rows(ctx.store.db.path)
        pairs = build_pairs(written, ratings, s.preference_margin, s.readable_min)
        write_jsonl(pairs, path)
        return {**summary(pairs), "path": str(path)}

    return await ctx.on_jobs(build)


async def cnn(ctx: JobContext) -> dict[str, Any]:
    """Fine-tune the readability CNN on everyone's mean rating of each diagram."""
    db = ctx.store
    samples = [(db.images.path(h), mean) for h, mean, _ in await db.ratings.mean_by_image()]
    if not samples:
        return {"skipped": "no rated diagrams yet"}
    data_dir = ctx.settings.data_dir
    out = _fresh(data_dir / "scorers" / "cnn")
    base = current_scorers(data_dir).get("cnn")
    training = await ctx.on_jobs(ctx.trainer.cnn, samples, base, out)
    if isinstance(training, Skipped):
        return {"skipped": training.reason}
    await ctx.on_model(ctx.backend.use_scorer, "cnn", out)
    set_current_scorer(data_dir, "cnn", out)
    return {"samples": len(samples), "folder": str(out), "training": training}


async def orpo(ctx: JobContext) -> dict[str, Any]:
    """Pairs -> ORPO on top of the served adapter -> quality benchmark -> gate -> promote."""
    db, s = ctx.store, ctx.settings
    pairs = await preferences(ctx)
    if pairs["pairs"] < s.orpo_min_pairs:
        need = s.orpo_min_pairs
        return {"skipped": f"{pairs['pairs']} pairs, {need} needed", "preferences": pairs}
    current, adapter = await db.models.serving()
    version = f"orpo-{_stamp()}"
    out = s.data_dir / "adapters" / version
    training = await ctx.on_jobs(ctx.trainer.orpo, Path(pairs["path"]), adapter, out)
    if isinstance(training, Skipped):
        return {"skipped": training.reason, "preferences": pairs}
    baseline = await ctx.on_jobs(ctx.trainer.evaluate, adapter)
    # The serving adapter again with another seed: how far it lies from itself, the noise
    # the statistical gate tolerates (engine/bench/gate.py).
    noise = await ctx.on_jobs(ctx.trainer.evaluate, adapter, 1)
    quality = await ctx.on_jobs(ctx.trainer.evaluate, str(out))
    decision = decide(baseline, quality, s.gate_tolerance, noise=noise)
    metrics = {"quality": quality, "baseline": baseline, "gate": decision.as_dict()}
    metrics |= {"training": training, "preferences": pairs}
    await db.models.add(version, str(out), current, metrics, decision.passed)
    if decision.passed:
        await ctx.promote(version)
    return {"version": version, "promoted": decision.passed, "gate": decision.reasons}


BODIES: dict[str, JobBody] = {
    "embeddings": embeddings,
    "profiles": profiles,
    "preferences": preferences,
    "cnn": cnn,
    "orpo": orpo,
}
ALL = ("embeddings", "profiles", "cnn", "orpo")  # "all", in order (orpo builds the pairs)


async def _embed(
    ctx: JobContext, *, rated_only: bool, missing_only: bool, since: float | None = None
) -> int:
    """Embed stored pictures with the served auto-encoder, a chunk at a time. missing_only:
    those with no embedding or one of another width (an older embedder's)."""
    db = ctx.store
    dim = await ctx.on_model(lambda: ctx.backend.dim)
    todo = await db.diagrams.images(
        rated_only=rated_only, missing_embedding=missing_only, since=since, size=dim
    )
    for k in range(0, len(todo), EMBED_CHUNK):
        chunk = todo[k : k + EMBED_CHUNK]
        pngs = await ctx.on_jobs(lambda c=chunk: [db.images.load(h) for _, h, _ in c])
        texts = [text for _, _, text in chunk]
        vectors = await ctx.on_model(ctx.backend.embed, pngs, texts)
        blobs = [v.astype("float32").tobytes() for v in vectors]
        ids = [i for i, _, _ in chunk]
        await db.diagrams.set_embeddings(list(zip(ids, blobs, strict=True)))
    return len(todo)


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def _fresh(root: Path) -> Path:
    return root / _stamp()
