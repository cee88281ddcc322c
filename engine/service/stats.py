"""GET /v1/stats: what the engine is doing and has done."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from engine.service.engine import Engine

LATENCY_WINDOW = 1000  # percentiles over the latest answered requests


def percentiles(values: Sequence[float], qs: Sequence[int] = (50, 95, 99)) -> dict[str, Any]:
    """{"p50": ..., "p95": ..., "p99": ...} (None each when there are no values)."""
    if not values:
        return {f"p{q}": None for q in qs}
    got = np.percentile(np.asarray(values, dtype=np.float64), qs)
    return {f"p{q}": round(float(v), 1) for q, v in zip(qs, got, strict=True)}


async def collect(engine: Engine) -> dict[str, Any]:
    db, queue = engine.db, engine.queue
    assert queue is not None
    counts = await db.requests.counts()
    latencies = await db.requests.recent_latencies(LATENCY_WINDOW)
    return {
        "queue_depth": queue.depth,
        "running": queue.running,
        "requests": {"total": sum(counts.values()), **counts},
        "latency_ms": {**percentiles(latencies), "n": len(latencies)},
        "batches": {
            "count": queue.batches,
            "mean_requests": round(queue.batched_requests / queue.batches, 2)
            if queue.batches
            else None,
        },
        "diagrams": await db.diagrams.count(),
        "ratings": await db.ratings.count(),
        "users": await db.users(),
        "model_version": engine.backend.model_version,
        "decoder_fallbacks": _fallbacks(engine.backend.decoder_fallbacks()),
        "model_busy_s": round(engine.model_busy_s, 3),  # generating, summed over batches
        "jobs_running": dict(engine.jobs.active) if engine.jobs else {},
    }


def _fallbacks(reasons: dict[str, int]) -> dict[str, Any]:
    """How often the fast decoder handed a call to the plain path, and why."""
    return {"count": sum(reasons.values()), "reasons": reasons}
