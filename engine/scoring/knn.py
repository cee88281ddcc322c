"""A user's expected rating of a candidate, from their own (embedding, rating) pairs.

A prior p (the CNN readability on the 1..5 rating scale, or a global mean) says what anyone
would give a diagram. The user's ratings r_i of diagrams with priors p_i teach how this user
differs, shrunk toward "nothing learnt" while the evidence is thin:

    bias       b   = sum_i (r_i - p_i) / (n + LAMBDA_BIAS)       (rates above/below others)
    residual   e_i = r_i - p_i - b                               (taste, not readability)

Taste is then read one embedding block at a time (fill colour, shape, dashes, coverage,
direction, ... see autoencoder.py): people like blue *and* circles, and a plain kNN over
the whole vector would need a rated diagram close in every respect at once, which 20
ratings never give. Per block B, a distance-weighted kNN over the user's ratings:

    w_iB(x)    = exp(-d_B(x, x_i)^2 / (2 h^2))       for the K nearest ratings in block B
    f_B(x)     = sum_i w_iB(x) t_iB / (sum_i w_iB(x) + LAMBDA)

and the blocks add up (a generalised additive model fitted by backfitting: each t_iB is
e_i minus what the other blocks already explain at x_i, BACKFIT rounds):

    expected   = p + b + sum_B f_B(candidate)
    confidence = mean over blocks of sum_i w_iB / (sum_i w_iB + LAMBDA)

LAMBDA counts the prior as that many ratings at distance 0: one rating of a near-identical
diagram moves the estimate half-way to it, and a candidate unlike anything rated (in every
block) stays at p + b with confidence ~0.
K = 10, h = BANDWIDTH (autoencoder.py scales each block so two random diagrams are about
1/sqrt(blocks) apart in it), Gaussian weights rather than the original 1/d^2 so that an
exact duplicate cannot take all the weight. With blocks=None the whole vector is one block:
plain distance-weighted kNN.

fit() does the profile's work once (O(blocks x n^2), ~0.1 s at n = 1,000); predict() is
brute force in numpy, one matrix product per block for all candidates: microseconds per
candidate at n = 1,000 (`diagrammer bench personalization` measures it), faster than
building scikit-learn trees for a profile that changes with every rating.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

K = 10
BANDWIDTH = 0.1
LAMBDA = 1.0
LAMBDA_BIAS = 5.0
BACKFIT = 4
RATING_MIN, RATING_MAX = 1.0, 5.0


@dataclass(frozen=True)
class Expected:
    """Per candidate: the expected rating (1..5) and a confidence (0..1)."""

    rating: np.ndarray
    confidence: np.ndarray


@dataclass(frozen=True)
class Taste:
    """One user's fitted taste: rated embeddings, bias and per-block targets t_iB."""

    rated: np.ndarray  # n x D float32
    bias: float
    targets: np.ndarray  # blocks x n
    blocks: tuple[slice, ...]

    @property
    def n(self) -> int:
        return len(self.rated)


def fit(
    rated: np.ndarray,
    ratings: np.ndarray,
    rated_prior: np.ndarray | float,
    blocks: Sequence[slice] | None = None,
) -> Taste:
    """A user's taste from the embeddings they rated, their ratings (1..5) and the priors."""
    ratings = np.asarray(ratings, dtype=np.float64).reshape(-1)
    n = len(ratings)
    rated = np.atleast_2d(np.asarray(rated, dtype=np.float32))
    if len(rated) != n:
        raise ValueError(f"{len(rated)} embeddings but {n} ratings")
    blocks = tuple(blocks) if blocks else (slice(0, rated.shape[1]),)
    residual = ratings - np.broadcast_to(np.asarray(rated_prior, dtype=np.float64), (n,))
    bias = float(residual.sum() / (n + LAMBDA_BIAS)) if n else 0.0
    e = residual - bias
    smoothers = [_smoother(rated[:, s], rated[:, s]) for s in blocks]
    f = np.zeros((len(blocks), n))
    for _ in range(BACKFIT if len(blocks) > 1 else 1):
        for b, smooth in enumerate(smoothers):
            f[b] = smooth @ (e - f.sum(axis=0) + f[b])
    targets = np.stack([e - f.sum(axis=0) + f[b] for b in range(len(blocks))])
    return Taste(rated, bias, targets, blocks)


def predict(taste: Taste, candidates: np.ndarray, prior: np.ndarray | float) -> Expected:
    """Expected ratings and confidences of candidates (m x D embeddings, m priors or one)."""
    candidates = np.atleast_2d(np.asarray(candidates, dtype=np.float32))
    p = np.broadcast_to(np.asarray(prior, dtype=np.float64), (len(candidates),))
    if taste.n == 0:
        return Expected(p.clip(RATING_MIN, RATING_MAX), np.zeros(len(candidates)))
    rating = p + taste.bias
    confidence = np.zeros(len(candidates))
    for s, t in zip(taste.blocks, taste.targets, strict=True):
        idx, w = _nearest(candidates[:, s], taste.rated[:, s])
        total = w.sum(axis=1)
        rating = rating + (w * t[idx]).sum(axis=1) / (total + LAMBDA)
        confidence += total / (total + LAMBDA) / len(taste.blocks)
    return Expected(rating.clip(RATING_MIN, RATING_MAX), confidence)


def expected_ratings(
    rated: np.ndarray,
    ratings: np.ndarray,
    candidates: np.ndarray,
    prior: np.ndarray | float,
    rated_prior: np.ndarray | float | None = None,
    blocks: Sequence[slice] | None = None,
) -> Expected:
    """fit() then predict(); rated_prior defaults to prior when that is one number."""
    candidates = np.atleast_2d(np.asarray(candidates, dtype=np.float32))
    ratings = np.asarray(ratings, dtype=np.float64).reshape(-1)
    rated = np.asarray(rated, dtype=np.float32).reshape(-1, candidates.shape[1])
    if rated_prior is None:
        if np.ndim(prior) != 0 and len(ratings):
            raise ValueError("with one prior per candidate, give the rated diagrams' priors too")
        rated_prior = float(prior) if np.ndim(prior) == 0 else 0.0
    return predict(fit(rated, ratings, rated_prior, blocks), candidates, prior)


def _nearest(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of a, its K nearest rows of b: (indices, Gaussian weights), m x min(K, n)."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    if d2.shape[1] > K:
        idx = np.argpartition(d2, K - 1, axis=1)[:, :K]
        d2 = np.take_along_axis(d2, idx, axis=1)
    else:
        idx = np.broadcast_to(np.arange(d2.shape[1]), d2.shape)
    w = np.exp(np.maximum(d2, 0.0).astype(np.float64) * (-0.5 / BANDWIDTH**2))
    return idx, w


def _smoother(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The kNN smoother as a dense matrix: row-normalised weights, shrunk by LAMBDA."""
    idx, w = _nearest(a, b)
    out = np.zeros((len(a), len(b)))
    np.put_along_axis(out, idx, w / (w.sum(axis=1, keepdims=True) + LAMBDA), axis=1)
    return out
