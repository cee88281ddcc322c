"""A user's rating history in embedding space, and the candidates' scores for that user.

The engine keeps, per rated diagram, its embedding and its CNN readability (both computed
when the diagram was served); a Profile is those rows for one user. score() is the scoring
stage of a request: CNN readability, embedding, expected rating and confidence for each
rendered candidate, ready for rank.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.scoring import knn
from engine.scoring.cnn import target_to_rating


@dataclass(frozen=True)
class Profile:
    """embeddings: n x D of the diagrams the user rated; ratings: 1..5; readability: their CNN
    readability (0..5) when served, which gives each rating its prior."""

    embeddings: np.ndarray
    ratings: np.ndarray
    readability: np.ndarray

    @classmethod
    def empty(cls, dim: int) -> Profile:
        return cls(np.zeros((0, dim), np.float32), np.zeros(0), np.zeros(0))

    @property
    def n(self) -> int:
        return len(self.ratings)

    def taste(self, blocks: Sequence[slice] | None = None) -> knn.Taste:
        """The fitted taste (knn.fit); fit once per profile, predict for many candidates."""
        return knn.fit(self.embeddings, self.ratings, target_to_rating(self.readability), blocks)

    def expected(
        self, embeddings: np.ndarray, readability: np.ndarray, blocks: Sequence[slice] | None = None
    ) -> knn.Expected:
        """Expected ratings of candidates (embeddings, CNN readability 0..5)."""
        return knn.predict(self.taste(blocks), embeddings, target_to_rating(readability))


@dataclass(frozen=True)
class Scores:
    readability: float  # CNN, 0..5
    embedding: np.ndarray
    expected: float  # 1..5
    confidence: float  # 0..1


def score(
    images: Sequence[np.ndarray], profile: Profile | None = None, device: str | None = None
) -> list[Scores]:
    """Score rendered candidates (HxWx3 uint8 RGB) with the shipped models for one user."""
    from engine.scoring import autoencoder, cnn

    if not images:
        return []
    readability = cnn.score_images(cnn.default_model(device), images)
    embedder = autoencoder.default_embedder(device)
    embeddings = embedder.embed(images)
    profile = profile if profile is not None else Profile.empty(embedder.dim)
    exp = profile.expected(embeddings, readability, embedder.blocks)
    return [
        Scores(float(r), e, float(x), float(c))
        for r, e, x, c in zip(readability, embeddings, exp.rating, exp.confidence, strict=True)
    ]
