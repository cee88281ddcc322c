"""Shared fixtures' data for the kNN tests (test_scoring_neighbours, test_scoring_evidence):
a random rated profile and a small learnt population over three taste blocks."""

import numpy as np

from engine.scoring import knn
from engine.scoring.knn import Population

BLOCKS = (slice(0, 3), slice(3, 5), slice(5, 9))


def profile(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rated embeddings, their 1-5 star ratings, their readability) of n rated diagrams."""
    rng = np.random.default_rng(seed)
    rated = rng.normal(0, 0.1, (n, 9)).astype(np.float32)
    ratings = np.clip(np.round(3 + 4 * rated[:, 0] + rng.normal(0, 0.5, n)), 1, 5)
    return rated, ratings, rng.uniform(1.5, 5.0, n)


def population(**more: float) -> Population:
    rng = np.random.default_rng(1)
    patterns = np.exp(rng.normal(-2, 1, (6, len(BLOCKS) + knn.EXTRA_TERMS)))
    return Population(0.6, 1.0, 2.0, 0.5, patterns, np.full(6, 1 / 6), 3.2, **more)
