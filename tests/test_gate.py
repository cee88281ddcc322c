"""The evaluation gate: promote only when no checked metric got worse."""

import math

from engine.bench.gate import CHECKS, decide

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


# --- the statistical gate: paired per-request values ----------------------------------------

from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from engine.bench.gate import PER_REQUEST, paired_check, samples, self_tolerance  # noqa: E402

N_REQUESTS, N_CANDIDATES = 105, 4  # the hand-written set: 420 candidates


def _report(values: dict[str, np.ndarray]) -> dict:
    """A quality report: the aggregates and the per-request values they are the means of."""
    per = {k: [float(x) for x in v] for k, v in values.items()}
    return {k: float(np.nanmean(v)) for k, v in values.items()} | {PER_REQUEST: per}


def _v1(rng: np.random.Generator) -> dict[str, np.ndarray]:
    spec = rng.random(N_REQUESTS) < 0.8  # some requests state no structure: NaN fidelity
    return {
        "parse_valid": np.ones(N_REQUESTS),
        "natural_stop": np.ones(N_REQUESTS),
        "top1_exact": np.where(spec, (rng.random(N_REQUESTS) < 0.95).astype(float), np.nan),
        "readability": rng.uniform(0.95, 1.0, N_REQUESTS),
    }


def test_one_failed_candidate_of_420_and_a_readability_wobble_pass() -> None:
    rng = np.random.default_rng(0)
    current = _v1(rng)
    new = {k: v.copy() for k, v in current.items()}
    new["parse_valid"][17] = 1 - 1 / N_CANDIDATES  # 1.0 -> 0.9976, the reported case
    new["readability"] = current["readability"] + rng.normal(-0.0004, 0.005, N_REQUESTS)
    assert not decide(_report(current) | {PER_REQUEST: None}, _report(new)).passed  # old rule
    decision = decide(_report(current), _report(new))
    assert decision.passed, decision.reasons
    assert _report(new)["parse_valid"] < _report(current)["parse_valid"]


def test_a_regression_spread_over_requests_fails_on_that_metric_only() -> None:
    rng = np.random.default_rng(1)
    current = _v1(rng)
    for key, worse in (
        ("parse_valid", lambda v: np.where(rng.random(N_REQUESTS) < 0.15, 0.5, v)),
        ("readability", lambda v: v - rng.uniform(0.0, 0.06, N_REQUESTS)),
        ("top1_exact", lambda v: np.where(np.isfinite(v) & (rng.random(N_REQUESTS) < 0.2), 0, v)),
    ):
        new = current | {key: worse(current[key])}
        decision = decide(_report(current), _report(new))
        assert not decision.passed, key
        failed = [r for r in decision.reasons if r.endswith(", worse")]
        assert failed == [r for r in decision.reasons if r.startswith(CHECKS[key])]


def test_the_tolerance_is_how_far_v1_lies_from_itself() -> None:
    rng = np.random.default_rng(2)
    current = _v1(rng)
    noisy = rng.normal(0, 0.1, N_REQUESTS)
    again = current | {"readability": current["readability"] + noisy}  # v1, other seeds
    new = current | {"readability": current["readability"] - 0.01}  # small but certain
    delta = self_tolerance(_report(current), _report(again), "readability")
    assert 0.01 < delta < 0.05
    assert not decide(_report(current), _report(new)).passed  # no noise measured: a drop
    assert decide(_report(current), _report(new), noise=_report(again)).passed
    far = current | {"readability": current["readability"] - 3 * delta}
    assert not decide(_report(current), _report(far), noise=_report(again)).passed


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.floats(0, 1), min_size=5, max_size=60),
    gains=st.lists(st.floats(0, 1), min_size=60, max_size=60),
)
def test_equal_or_better_on_every_request_always_passes(values: list, gains: list) -> None:
    current = np.array(values)
    better = np.minimum(current + np.array(gains[: len(values)]), 1.0)
    assert paired_check(current, current, 0.0)[0]
    assert paired_check(current, better, 0.0)[0]


@settings(max_examples=50, deadline=None)
@given(values=st.lists(st.floats(0.2, 1), min_size=20, max_size=60), drop=st.floats(0.1, 0.2))
def test_a_drop_on_every_request_always_fails(values: list, drop: float) -> None:
    current = np.array(values)
    assert not paired_check(current, current - drop, 0.05)[0]


def test_samples_are_the_per_request_values_behind_the_aggregates() -> None:
    from engine.diagram.model import Spec

    def cand(parsed: bool, finished: bool, readability: float) -> SimpleNamespace:
        gen = SimpleNamespace(finished=finished)
        return SimpleNamespace(parsed=parsed, generation=gen, readability=readability,
                               diagram=None)  # fmt: skip

    requests = [SimpleNamespace(spec=None), SimpleNamespace(spec=Spec("network", (2, 3)))]
    results = [
        SimpleNamespace(candidates=[cand(True, True, 0.9), cand(False, True, 0.0)]),
        SimpleNamespace(candidates=[cand(False, False, 0.0), cand(True, True, 0.8)]),
    ]
    got = samples(requests, results)
    assert got["parse_valid"] == [0.5, 0.5] and got["natural_stop"] == [1.0, 0.5]
    assert math.isnan(got["top1_exact"][0]) and got["top1_exact"][1] == 0.0  # not parsed
    assert got["readability"] == [0.9, 0.0]
