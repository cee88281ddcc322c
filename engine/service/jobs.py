"""What each rebuild does. Every body returns a JSON-able result for the jobs table.

Heavy work runs on the engine's jobs thread (training) or, in small chunks, on its model
thread (embedding with the served auto-encoder), so requests keep being answered. A part the
trainer cannot do here raises NotImplementedError and is recorded as skipped, not failed.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training.gate import decide
from training.preferences import build_pairs, read_store, summary, write_jsonl

if TYPE_CHECKING:
    from engine.service.engine import Engine

JobBody = Callable[["Engine"], Awaitable[dict[str, Any]]]
EMBED_CHUNK = 32  # diagrams per model-thread call: short enough not to hold up a batch
SCORERS = ("autoencoder", "cnn")
CURRENT = "current.json"


async def embeddings(engine: Engine) -> dict[str, Any]:
    """Re-train the auto-encoder when enough new diagrams exist, then (re-)embed."""
    db, s = engine.db, engine.settings
    last = await db.jobs.last_done("embeddings", flag="trained")
    new = await db.diagrams.count(since=last["finished"] if last else 0.0)
    result: dict[str, Any] = {"new_diagrams": new, "trained": False}
    if new >= s.ae_min_new_diagrams:
        todo = await db.diagrams.images(rated_only=False, missing_embedding=False)
        out = _fresh(s.data_dir / "scorers" / "autoencoder")
        try:
            images = [db.images.path(h) for _, h in todo]
            result["training"] = await engine.on_jobs(engine.trainer.autoencoder, images, out)
            await engine.on_model(engine.backend.use_scorer, "autoencoder", out)
            set_current_scorer(s.data_dir, "autoencoder", out)
            result["trained"] = True
        except NotImplementedError as e:
            result["training"] = {"skipped": str(e)}
    # A new auto-encoder makes every stored embedding stale; otherwise fill the gaps.
    result["embedded"] = await _embed(engine, rated_only=False, missing_only=not result["trained"])
    return result


async def profiles(engine: Engine) -> dict[str, Any]:
    """Make every user's kNN profile complete: embed rated diagrams that lack an embedding.

    The profile itself (embeddings and scores of the user's ratings) is read fresh from the
    store for each request, so a new rating counts at once."""
    embedded = await _embed(engine, rated_only=True, missing_only=True)
    return {
        "embedded": embedded,
        "users": await engine.db.ratings.users(),
        "ratings": await engine.db.ratings.count(),
    }


async def preferences(engine: Engine) -> dict[str, Any]:
    """ORPO pairs from the ratings and candidates so far, as a fresh JSONL file."""
    s = engine.settings
    path = s.data_dir / "preferences" / f"pairs-{_stamp()}.jsonl"

    def build() -> dict[str, Any]:
        written, ratings = read_store(engine.db.db.path)
        pairs = build_pairs(written, ratings, s.preference_margin, s.readable_min)
        write_jsonl(pairs, path)
        return {**summary(pairs), "path": str(path)}

    return await engine.on_jobs(build)


async def cnn(engine: Engine) -> dict[str, Any]:
    """Fine-tune the readability CNN on everyone's mean rating of each diagram."""
    db = engine.db
    samples = [(db.images.path(h), mean) for h, mean, _ in await db.ratings.mean_by_image()]
    if not samples:
        return {"skipped": "no rated diagrams yet"}
    data_dir = engine.settings.data_dir
    out = _fresh(data_dir / "scorers" / "cnn")
    base = current_scorers(data_dir).get("cnn")
    try:
        training = await engine.on_jobs(engine.trainer.cnn, samples, base, out)
    except NotImplementedError as e:
        return {"skipped": str(e)}
    await engine.on_model(engine.backend.use_scorer, "cnn", out)
    set_current_scorer(data_dir, "cnn", out)
    return {"samples": len(samples), "folder": str(out), "training": training}


async def orpo(engine: Engine) -> dict[str, Any]:
    """Pairs -> ORPO on top of the served adapter -> quality benchmark -> gate -> promote."""
    db, s = engine.db, engine.settings
    pairs = await preferences(engine)
    if pairs["pairs"] < s.orpo_min_pairs:
        need = s.orpo_min_pairs
        return {"skipped": f"{pairs['pairs']} pairs, {need} needed", "preferences": pairs}
    current, adapter = await db.models.serving()
    version = f"orpo-{_stamp()}"
    out = s.data_dir / "adapters" / version
    try:
        training = await engine.on_jobs(engine.trainer.orpo, Path(pairs["path"]), adapter, out)
    except NotImplementedError as e:
        return {"skipped": str(e), "preferences": pairs}
    baseline = await engine.on_jobs(engine.trainer.evaluate, adapter)
    quality = await engine.on_jobs(engine.trainer.evaluate, str(out))
    decision = decide(baseline, quality, s.gate_tolerance)
    metrics = {"quality": quality, "baseline": baseline, "gate": decision.as_dict()}
    metrics |= {"training": training, "preferences": pairs}
    await db.models.add(version, str(out), current, metrics, decision.passed)
    if decision.passed:
        await engine.promote(version)
    return {"version": version, "promoted": decision.passed, "gate": decision.reasons}


BODIES: dict[str, JobBody] = {
    "embeddings": embeddings,
    "profiles": profiles,
    "preferences": preferences,
    "cnn": cnn,
    "orpo": orpo,
}
ALL = ("embeddings", "profiles", "cnn", "orpo")  # "all", in order (orpo builds the pairs)


async def _embed(engine: Engine, *, rated_only: bool, missing_only: bool) -> int:
    db = engine.db
    todo = await db.diagrams.images(rated_only=rated_only, missing_embedding=missing_only)
    for k in range(0, len(todo), EMBED_CHUNK):
        chunk = todo[k : k + EMBED_CHUNK]
        pngs = await engine.on_jobs(lambda c=chunk: [db.images.load(h) for _, h in c])
        vectors = await engine.on_model(engine.backend.embed, pngs)
        blobs = [v.astype("float32").tobytes() for v in vectors]
        await db.diagrams.set_embeddings([(i, b) for (i, _), b in zip(chunk, blobs, strict=True)])
    return len(todo)


def current_scorers(data_dir: Path) -> dict[str, Path]:
    """The scorer folders trained here and in use, by kind (survives restarts)."""
    out = {}
    for kind in SCORERS:
        pointer = data_dir / "scorers" / kind / CURRENT
        if pointer.is_file():
            out[kind] = Path(json.loads(pointer.read_text(encoding="utf-8"))["folder"])
    return out


def set_current_scorer(data_dir: Path, kind: str, folder: Path) -> None:
    pointer = data_dir / "scorers" / kind / CURRENT
    pointer.parent.mkdir(parents=True, exist_ok=True)
    tmp = pointer.with_suffix(".tmp")
    tmp.write_text(json.dumps({"folder": str(folder)}), encoding="utf-8")
    tmp.replace(pointer)  # atomic: the pointer names the old folder or the new one


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


def _fresh(root: Path) -> Path:
    return root / _stamp()
