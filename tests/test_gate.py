"""The evaluation gate: promote only when no checked metric got worse."""

import math

from training.gate import CHECKS, decide

CURRENT = {"parse_valid": 0.9, "natural_stop": 0.95, "top1_exact": 0.6, "readability": 0.8}


def test_equal_or_better_on_every_metric_passes() -> None:
    assert decide(CURRENT, CURRENT).passed
    better = {k: v + 0.01 for k, v in CURRENT.items()} | {"extra": 0.0}
    decision = decide(CURRENT, better)
    assert decision.passed and len(decision.reasons) == len(CHECKS)


def test_any_metric_worse_fails_and_says_which() -> None:
    for key in CHECKS:
        decision = decide(CURRENT, CURRENT | {key: CURRENT[key] - 0.01})
        assert not decision.passed
        worse = [r for r in decision.reasons if r.endswith(", worse")]
        assert worse == [r for r in decision.reasons if r.startswith(CHECKS[key])]


def test_tolerance_allows_a_small_drop_only() -> None:
    slightly = CURRENT | {"readability": 0.79}
    assert decide(CURRENT, slightly, tolerance=0.02).passed
    assert not decide(CURRENT, CURRENT | {"readability": 0.7}, tolerance=0.02).passed


def test_a_metric_that_was_not_measured_fails_unless_neither_side_could_measure_it() -> None:
    missing = {k: v for k, v in CURRENT.items() if k != "natural_stop"}
    assert not decide(CURRENT, missing).passed
    assert not decide(missing, CURRENT).passed
    assert not decide(CURRENT, CURRENT | {"top1_exact": math.nan}).passed
    both_nan = decide(CURRENT | {"top1_exact": math.nan}, CURRENT | {"top1_exact": math.nan})
    assert both_nan.passed and any("skipped" in r for r in both_nan.reasons)
    assert decide(CURRENT | {"top1_exact": math.nan}, CURRENT).passed
