"""What everyone's ratings teach each user's kNN estimate: a knn.Population.

From the rating histories of all users (per user, in the order given: the embeddings they
rated, their ratings, each rated diagram's prior, and the expected rating it was shown with
where the store kept it), three lessons:

1. How far to trust the prior (slope, offset of p' = offset + slope * p): ratings regressed
   on the prior and on the taste the ranker expected when it showed the diagram. Only what
   the ranker put first gets rated, and it puts first what the prior *and* the expected
   taste like; among those, a high prior goes with a lower taste (picked on the sum), so a
   regression on the prior alone would understate its slope. With the ranker's own inputs
   among the regressors, what it picked on no longer biases the rest. The slope holds where
   the data was: from the FLOOR_PERCENTILE of the priors shown up. Below (badly broken
   diagrams, which the ranker seldom shows) nobody's ratings say how steeply ratings fall,
   and the prior keeps its own scale there rather than a slope extrapolated from the
   readable diagrams people saw.
2. Taste patterns: per user with at least MIN_RATINGS ratings, the taste variances tau^2 per
   embedding block, for the user's own slope on the prior (around the centre: the mean prior
   shown) and for the bias that best explain their last knn.MAX_EVIDENCE residuals (maximum
   Gaussian-process evidence, knn.log_evidence, with a weak log-normal prior so that a block
   the user never varied stays finite). Some users care about colour, others about shape or
   line style; nobody's taste follows the layout, which changes with the request. Some rate
   readability hard, some hardly at all: the slope's own tau^2 lets each user's evidence
   move their slope off the population's (1.), so a slope learnt low where tastes dominate
   no longer throws readability away for everyone. Each pattern then gets the weight that
   makes the library explain everyone's ratings best (EM over the mixing weights).
3. The rating noise sigma: of NOISES, the one under which the library explains everyone's
   ratings best.
(Not learnt: the prior probability of near-indifference, knn.FLAT_PRIOR, saved as 'flat'.
EM over it finds next to nothing, since the library holds the near-indifferent users' own
patterns, which explain the others as well as the flat hypothesis does.)

learn() takes seconds for a hundred users of 50 ratings; the engine's profiles job
(engine/service/jobs.py) runs it over the store's ratings and serves the result as a scorer
version (FILE in its folder); the benchmark learns one from a separate population of
simulated users.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from engine.scoring import knn

FILE = "population.json"  # in a scorer folder (engine/service/jobs.py)
MIN_RATINGS = 10
MIN_CALIBRATION = 30  # ratings needed before the prior's slope is learnt at all
SLOPE_RANGE = (0.1, 1.5)
FLOOR_PERCENTILE = 5
NOISES = (0.45, 0.6, 0.8)
PRIOR_SPREAD = 0.1  # precision of the log-normal prior on a user's tau^2 (weak)
EM_ROUNDS = 50


@dataclass(frozen=True)
class History:
    """One user's ratings: embeddings (n x D), ratings 1..5, priors 1..5 (of each rated
    diagram when shown) and, where known, the expected rating it was shown with (NaN not)."""

    embeddings: np.ndarray
    ratings: np.ndarray
    prior: np.ndarray
    shown_expected: np.ndarray | None = None


def learn(
    histories: Sequence[History],
    blocks: Sequence[slice],
    noises: Sequence[float] = NOISES,
    log: Callable[[str], None] | None = None,
) -> knn.Population:
    """A Population from everyone's histories (see the module docstring)."""
    calibrated = calibrate(histories)
    users = [_residuals(h, blocks, calibrated) for h in histories if len(h.ratings) >= MIN_RATINGS]
    if not users:
        return calibrated
    best: tuple[float, knn.Population] | None = None
    for noise in noises:
        patterns = np.stack([_pattern(k, y, noise) for k, y in users])
        evidence = np.stack([knn.log_evidence(k, y, patterns, noise) for k, y in users])
        weights, total = _mixing_weights(evidence)
        keep = weights > 1e-4
        kept = weights[keep] / weights[keep].sum()
        pop = replace(
            calibrated, noise=noise, patterns=patterns[keep], weights=kept, flat=knn.FLAT_PRIOR
        )
        if log:
            log(f"noise {noise}: evidence {total:.1f}, {keep.sum()} patterns of {len(users)} users")
        if best is None or total > best[0]:
            best = (total, pop)
    assert best is not None
    return best[1]


def calibrate(histories: Sequence[History]) -> knn.Population:
    """The prior's slope, offset and floor (see the module docstring), the expected taste at
    show time held fixed where it is known; none with fewer than MIN_CALIBRATION ratings."""
    rows = []
    for h in histories:
        shown = np.full(len(h.ratings), np.nan) if h.shown_expected is None else h.shown_expected
        rows.append(np.stack([h.ratings, h.prior, np.asarray(shown, np.float64) - h.prior], 1))
    data = np.concatenate(rows) if rows else np.zeros((0, 3))
    known = np.isfinite(data).all(axis=1)
    if known.sum() >= MIN_CALIBRATION:
        x = np.column_stack([np.ones(known.sum()), data[known, 1], data[known, 2]])
        y = data[known, 0]
    elif len(data) >= MIN_CALIBRATION:
        x, y = np.column_stack([np.ones(len(data)), data[:, 1]]), data[:, 0]
    else:
        return knn.Population()
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    slope = float(np.clip(coef[1], *SLOPE_RANGE))
    floor = float(np.percentile(x[:, 1], FLOOR_PERCENTILE))
    offset = float(np.mean(y - slope * np.maximum(x[:, 1], floor)))
    return knn.Population(slope, offset, floor, centre=float(np.mean(x[:, 1])))


def save(pop: knn.Population, path: Path) -> None:
    data = {
        "slope": pop.slope,
        "offset": pop.offset,
        "floor": pop.floor if np.isfinite(pop.floor) else None,
        "noise": pop.noise,
        "patterns": None if pop.patterns is None else pop.patterns.tolist(),
        "weights": None if pop.weights is None else pop.weights.tolist(),
        "centre": pop.centre,
        "flat": pop.flat,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) + "\n")


def load(path: Path) -> knn.Population:
    data = json.loads(path.read_text())
    arrays = {k: None if data[k] is None else np.asarray(data[k]) for k in ("patterns", "weights")}
    numbers = {k: float(data[k]) for k in ("slope", "offset", "noise")}
    floor = -np.inf if data.get("floor") is None else float(data["floor"])
    centre = float(data.get("centre", knn.CENTRE))  # older files: the default centre
    flat = float(data.get("flat", knn.FLAT_PRIOR if data["patterns"] is not None else 0.0))
    return knn.Population(**numbers, floor=floor, **arrays, centre=centre, flat=flat)


def _residuals(
    h: History, blocks: Sequence[slice], pop: knn.Population
) -> tuple[np.ndarray, np.ndarray]:
    """The kernels and calibrated residuals of a user's last knn.MAX_EVIDENCE ratings."""
    recent = slice(max(0, len(h.ratings) - knn.MAX_EVIDENCE), None)
    prior = np.asarray(h.prior, np.float64)[recent]
    y = np.asarray(h.ratings, np.float64)[recent] - pop.prior(prior)
    return knn.kernels(np.asarray(h.embeddings)[recent], blocks, prior - pop.centre), y


def _pattern(k: np.ndarray, y: np.ndarray, noise: float) -> np.ndarray:
    """The tau^2 per term of maximum evidence (plus the weak prior) for one user."""
    n = len(y)
    centre = np.log(max(float(np.var(y)), 0.01) / len(k))

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        tau2 = np.exp(theta)
        cov = np.tensordot(tau2, k, 1) + noise**2 * np.eye(n)
        chol = np.linalg.cholesky(cov)
        inv = np.linalg.inv(cov)
        alpha = inv @ y
        evidence = -0.5 * y @ alpha - np.log(np.diag(chol)).sum()
        grad = 0.5 * np.einsum("ij,bij->b", np.outer(alpha, alpha) - inv, k) * tau2
        evidence -= 0.5 * PRIOR_SPREAD * ((theta - centre) ** 2).sum()
        grad -= PRIOR_SPREAD * (theta - centre)
        return -evidence, -grad

    start = np.full(len(k), centre)
    found = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(-12.0, 3.0)] * len(k))
    return np.exp(found.x)


def _mixing_weights(evidence: np.ndarray) -> tuple[np.ndarray, float]:
    """EM for the weights of the patterns (columns) that best explain every user (rows)."""
    weights = np.full(evidence.shape[1], 1.0 / evidence.shape[1])
    total = -np.inf
    for _ in range(EM_ROUNDS):
        joint = evidence + np.log(np.maximum(weights, 1e-300))
        top = joint.max(axis=1, keepdims=True)
        post = np.exp(joint - top)
        norm = post.sum(axis=1, keepdims=True)
        total = float((top + np.log(norm)).sum())
        weights = (post / norm).mean(axis=0)
    return weights, total
