"""A user's rating history in embedding space, and the candidates' scores for that user.

The engine keeps, per rated diagram, its embedding and its CNN readability (both computed
when the diagram was served); a Profile is those rows for one user. score() is the scoring
stage of a request: CNN readability, embedding, expected rating and confidence for each
rendered candidate, ready for rank.py. Given the candidates' Diagrams too, the embedding is
the auto-encoder's followed by the node list's content blocks (content.py), which tell
arrows from plain lines and white nodes' shapes where pixels can't; the profile's rows must
then have been embedded the same way. A knn.Population (population.py: what everyone's
ratings teach) calibrates the prior and each user's shrinkage; without one, the defaults.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.diagram.model import Diagram
from engine.scoring import autoencoder, cnn, content, descriptors, drawing, knn
from engine.scoring.cnn import target_to_rating
from engine.scoring.drawing import as_float
from engine.scoring.priors import UNKNOWN_READABILITY


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

    @classmethod
    def stored(
        cls, embeddings: np.ndarray, ratings: np.ndarray, readability: np.ndarray, dim: int
    ) -> Profile:
        """A user's ratings as the engine stores them (engine.service.engine.history_arrays):
        empty with none, or when another embedder made them (not `dim` wide: the engine
        re-embeds those); a rating stored without its diagram's CNN readability (NaN) takes
        UNKNOWN_READABILITY as its prior."""
        if len(ratings) == 0 or embeddings.shape[1] != dim:
            return cls.empty(dim)
        return cls(embeddings, ratings, np.nan_to_num(readability, nan=UNKNOWN_READABILITY))

    @property
    def n(self) -> int:
        return len(self.ratings)

    def taste(
        self, blocks: Sequence[slice] | None = None, population: knn.Population | None = None
    ) -> knn.Taste:
        """The fitted taste (knn.fit); fit once per profile, predict for many candidates."""
        prior = target_to_rating(self.readability)
        return knn.fit(self.embeddings, self.ratings, prior, blocks, population)

    def expected(
        self,
        embeddings: np.ndarray,
        readability: np.ndarray,
        blocks: Sequence[slice] | None = None,
        population: knn.Population | None = None,
    ) -> knn.Expected:
        """Expected ratings of candidates (embeddings, CNN readability 0..5)."""
        taste = self.taste(blocks, population)
        return knn.predict(taste, embeddings, target_to_rating(readability))


@dataclass(frozen=True)
class Scores:
    readability: float  # CNN, 0..5
    embedding: np.ndarray
    expected: float  # 1..5
    confidence: float  # 0..1


@dataclass(frozen=True)
class Models:
    """The CNN and the auto-encoder that score: the shipped ones, or the engine's own once it
    fine-tuned them (a profile's embeddings only compare with the embedder that made them)."""

    cnn: Any  # cnn.ReadabilityCNN
    embedder: Any  # autoencoder.Embedder

    @classmethod
    def shipped(cls, device: str | None = None) -> Models:
        return cls(cnn.default_model(device), autoencoder.default_embedder(device))

    @property
    def dim(self) -> int:
        """Width of the taste embedding: the image embedding and the content blocks (a new
        width when either changes: the engine re-embeds stored rows of another width)."""
        return self.embedder.dim + content.SIZE

    @property
    def blocks(self) -> tuple[slice, ...]:
        """The blocks the kNN compares: the image ones the node list cannot state
        (content.IMAGE_KEPT) and every content block."""
        return content.blocks(self.embedder.blocks)

    def taste(self, images: Sequence[np.ndarray], diagrams: Sequence[Diagram]) -> np.ndarray:
        """The taste embedding (N x dim) of renders and the Diagrams they were drawn from."""
        if not images:
            return np.zeros((0, self.dim), np.float32)
        return content.combine(self.embedder.embed(images), self.embedder.blocks, diagrams)


def score(
    images: Sequence[np.ndarray],
    profile: Profile | None = None,
    device: str | None = None,
    diagrams: Sequence[Diagram] | None = None,
    population: knn.Population | None = None,
    models: Models | None = None,
) -> list[Scores]:
    """Score rendered candidates (HxWx3 uint8 RGB) for one user, with these models (None:
    the shipped ones on `device`); with their Diagrams, the embedding gets the content blocks
    (see the module docstring)."""
    if not images:
        return []
    models = models if models is not None else Models.shipped(device)
    drawn = [drawing.of_image(im, models.cnn.input_size) for im in images]
    return score_drawn(drawn, profile, diagrams, population, models)


def score_drawn(
    drawn: Sequence[Any],
    profile: Profile | None,
    diagrams: Sequence[Diagram] | None,
    population: knn.Population | None,
    models: Models,
) -> list[Scores]:
    """score() of candidates already drawn (drawing.Drawn): the CNN and the auto-encoder's
    encoder run here, in one batch, for those a worker did not score."""
    if not drawn:
        return []
    readability = np.array([np.nan if d.readability is None else d.readability for d in drawn])
    todo = [i for i, d in enumerate(drawn) if d.readability is None]
    if todo:
        readability[todo] = cnn.score_batch(
            models.cnn, as_float([drawn[i].cnn_input for i in todo])
        )
    latents = np.zeros((len(drawn), models.embedder.model.latent), np.float32)
    todo = [i for i, d in enumerate(drawn) if d.latent is None]
    for i, d in enumerate(drawn):
        if d.latent is not None:
            latents[i] = d.latent
    if todo:
        latents[todo] = models.embedder.latents(as_float([drawn[i].ae_input for i in todo]))
    desc = np.stack([d.descriptors for d in drawn])
    raw = {"latent": latents, **{name: desc[:, s] for name, s in descriptors.BLOCKS.items()}}
    image = autoencoder.combine(raw, models.embedder.stats)
    if diagrams is not None:
        embeddings = content.combine(image, models.embedder.blocks, diagrams)
        blocks = models.blocks
    else:
        embeddings, blocks = image, models.embedder.blocks
    profile = profile if profile is not None else Profile.empty(embeddings.shape[1])
    readability = readability.astype(np.float32)
    exp = profile.expected(embeddings, readability, blocks, population)
    return [
        Scores(float(r), e, float(x), float(c))
        for r, e, x, c in zip(readability, embeddings, exp.rating, exp.confidence, strict=True)
    ]
