"""The evaluation gate: a new adapter is served only if it is not measurably worse.

Both adapters are measured with the quality benchmark (engine/bench/quality.py) on the same
prompt set, with the same sampling seeds. Checked metrics:

- parse_valid: share of candidates that became a diagram;
- natural_stop: share of candidates that ended by themselves;
- top1_exact: fidelity, the share of requests whose first diagram has the asked structure;
- readability: mean geometric readability of the first diagrams.

A sampled benchmark is noisy: one candidate of 420 that fails to parse moves parse_valid from
1.0 to 0.9976, a re-draw moves readability in the fourth decimal. "Not worse" therefore
means "not worse beyond noise, with confidence", judged on paired per-request values when
both sides carry them (`samples()`, under the key PER_REQUEST):

    d_i = new_i - current_i                 (request i, same text, same seeds)
    D   = mean_i d_i                        (the aggregate's difference)
    U   = the (1 - ALPHA) quantile of D* over ROUNDS paired bootstrap resamples of the
          requests (the same resampled requests on both sides: what the requests have in
          common, e.g. one that is hard for every adapter, cancels out)
    delta = max(tolerance, |mean_i s_i| + z_(1-ALPHA) sd(s) / sqrt(n)),  s_i = again_i -
          current_i, with `again` the *current* adapter measured a second time with other
          seeds (`noise=`): how far v1 lies from itself
    worse  <=>  U < -delta

i.e. the new adapter fails a metric only when we are (1 - ALPHA) confident that it is worse
than the current one by more than the current one differs from itself. A single failure
among 420 candidates leaves D* = 0 in (1 - 1/105)^105 ~ 37% of resamples, so U = 0 and it
passes; a drop spread over many requests puts the whole bootstrap distribution below zero
and fails. Requests where either side is NaN (no stated structure) are left out of that
metric. Without per-request values on both sides (older reports), the aggregates are
compared with `tolerance` alone: new >= current - tolerance.

A metric missing from either side, or NaN on the new side only, fails the gate: a number we
could not measure is not a number that held up. NaN on both sides (e.g. no request in the
set states a structure) is no evidence either way and is skipped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import Any

import numpy as np

from engine.diagram.fidelity import fidelity

CHECKS: dict[str, str] = {
    "parse_valid": "parse-valid share",
    "natural_stop": "natural-stop share",
    "top1_exact": "fidelity (top-1 exact)",
    "readability": "readability",
}
PER_REQUEST = "per_request"  # key of the per-request values in a quality report
ALPHA = 0.05
ROUNDS = 4000
MIN_PAIRED = 5  # fewer paired requests than this: compare the aggregates


@dataclass(frozen=True)
class Decision:
    passed: bool
    reasons: list[str] = field(default_factory=list)  # one line per checked metric

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(
    current: Mapping[str, Any],
    new: Mapping[str, Any],
    tolerance: float = 0.0,
    noise: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> Decision:
    """Whether `new` may replace `current`, with a reason per metric (module docstring).
    noise: the current adapter measured again with other seeds (same requests), or None."""
    passed, reasons = True, []
    for key, name in CHECKS.items():
        pairs = _paired(current, new, key)
        if pairs is None:
            ok, why = _check(current.get(key), new.get(key), tolerance)
        else:
            delta = max(tolerance, self_tolerance(current, noise, key))
            ok, why = paired_check(*pairs, delta, seed)
        passed = passed and ok
        reasons.append(f"{name}: {why}")
    return Decision(passed, reasons)


def samples(requests: Sequence[Any], results: Sequence[Any]) -> dict[str, list[float]]:
    """Per request of a quality-benchmark run (engine/bench/quality.py's accepted requests
    and run_set's results, in order): the checked metrics' values, whose means over the
    requests are the report's aggregates (every request has the same number of candidates).
    Store them under PER_REQUEST next to the aggregates."""

    def exact(candidate: Any, spec: Any) -> float:
        if spec is None:
            return math.nan
        f = fidelity(candidate.diagram, spec) if candidate.parsed else None
        return float(bool(f and f.exact))

    out: dict[str, list[float]] = {key: [] for key in CHECKS}
    for q, r in zip(requests, results, strict=True):
        cands = r.candidates
        out["parse_valid"].append(float(np.mean([c.parsed for c in cands])))
        out["natural_stop"].append(float(np.mean([c.generation.finished for c in cands])))
        out["top1_exact"].append(exact(cands[0], q.spec))
        out["readability"].append(float(cands[0].readability))
    return out


def paired_check(
    current: np.ndarray, new: np.ndarray, delta: float, seed: int = 0
) -> tuple[bool, str]:
    """The paired bootstrap test of the module docstring on one metric's per-request values."""
    d = new - current
    n = len(d)
    idx = np.random.default_rng(seed).integers(0, n, (ROUNDS, n))
    upper = float(np.quantile(d[idx].mean(axis=1), 1 - ALPHA))
    worse = upper < -delta
    what = (
        f"{current.mean():.4f} -> {new.mean():.4f} over {n} paired requests "
        f"(difference {d.mean():+.4f}, {1 - ALPHA:.0%} upper bound {upper:+.4f}, "
        f"tolerance {delta:.4f})"
    )
    return not worse, f"{what}, {'worse' if worse else 'not worse'}"


def self_tolerance(current: Mapping[str, Any], again: Mapping[str, Any] | None, key: str) -> float:
    """How far the current adapter lies from itself on one metric: |mean s| + z sd(s)/sqrt(n)
    over the paired differences s_i = again_i - current_i; 0 without a second measurement."""
    pairs = None if again is None else _paired(current, again, key)
    if pairs is None:
        return 0.0
    s = pairs[1] - pairs[0]
    z = NormalDist().inv_cdf(1 - ALPHA)
    return float(abs(s.mean()) + z * s.std(ddof=1) / math.sqrt(len(s)))


def _paired(a: Mapping[str, Any], b: Mapping[str, Any], key: str) -> tuple | None:
    """Both sides' per-request values of a metric where both are finite, or None when either
    side has none, they cover different requests, or fewer than MIN_PAIRED remain."""
    pa, pb = a.get(PER_REQUEST), b.get(PER_REQUEST)
    if not isinstance(pa, Mapping) or not isinstance(pb, Mapping):
        return None
    if pa.get(key) is None or pb.get(key) is None or len(pa[key]) != len(pb[key]):
        return None
    x, y = np.asarray(pa[key], np.float64), np.asarray(pb[key], np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    return (x[keep], y[keep]) if keep.sum() >= MIN_PAIRED else None


def _check(old: float | None, new: float | None, tolerance: float) -> tuple[bool, str]:
    if old is None or new is None:
        return False, "not measured"
    if math.isnan(new) and math.isnan(old):
        return True, "not measurable on this prompt set (skipped)"
    if math.isnan(new):
        return False, f"not measured (was {old:.4f})"
    if math.isnan(old) or new >= old - tolerance:
        return True, f"{_num(old)} -> {new:.4f}, not worse"
    return False, f"{old:.4f} -> {new:.4f}, worse"


def _num(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.4f}"
