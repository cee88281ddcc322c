"""How candidates are sampled: one value every generator, the pipeline and the benches share."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SamplingParams:
    """temperature 0 decodes greedily (the fast path); top_p 1 keeps the whole distribution;
    max_new_tokens bounds every candidate; a seed makes a call repeatable (None: different
    candidates on every call)."""

    temperature: float = 0.7
    top_p: float = 0.95
    max_new_tokens: int = 160
    seed: int | None = None


DEFAULT = SamplingParams()
