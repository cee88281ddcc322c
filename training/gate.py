"""The evaluation gate: a new adapter is served only if it is no worse than the current one.

Both adapters are measured with the quality benchmark (engine/bench/quality.py) on the same
prompt set. The new one passes when, on every checked metric, it is at least as good as the
current one minus `tolerance` (absolute; 0 by default: "not worse" means not worse):

- parse_valid: share of candidates that became a diagram;
- natural_stop: share of candidates that ended by themselves;
- top1_exact: fidelity, the share of requests whose first diagram has the asked structure;
- readability: mean geometric readability of the first diagrams.

A metric missing from either side, or NaN on the new side only, fails the gate: a number we
could not measure is not a number that held up. NaN on both sides (e.g. no request in the
set states a structure) is no evidence either way and is skipped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

CHECKS: dict[str, str] = {
    "parse_valid": "parse-valid share",
    "natural_stop": "natural-stop share",
    "top1_exact": "fidelity (top-1 exact)",
    "readability": "readability",
}


@dataclass(frozen=True)
class Decision:
    passed: bool
    reasons: list[str] = field(default_factory=list)  # one line per checked metric

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(
    current: Mapping[str, float], new: Mapping[str, float], tolerance: float = 0.0
) -> Decision:
    """Whether `new` may replace `current`, with a reason per metric."""
    passed, reasons = True, []
    for key, name in CHECKS.items():
        ok, why = _check(current.get(key), new.get(key), tolerance)
        passed = passed and ok
        reasons.append(f"{name}: {why}")
    return Decision(passed, reasons)


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
