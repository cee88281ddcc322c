"""A request's candidates ranked for one user, the way the engine ranks them.

Each readable candidate is rendered and scored (profile.py): CNN readability, the taste
embedding (the auto-encoder's embedding of the picture plus the node list's content blocks,
content.py) and the user's kNN expected rating with its confidence. rank.py orders them:
candidates that contradict the request's spec last, the rest by readability blended with the
expected rating (the user's weight growing with their ratings), near-duplicates out of the
top K. As the engine serves them (engine/service/pipeline_backend.py), invalid drawings then
go after valid ones and unreadable texts last.

UserRanker is the `ranker=` hook of engine.pipeline.draw; `diagrammer draw --user` uses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.scoring import knn, rank
from engine.scoring.profile import Models, Profile, Scores, score

if TYPE_CHECKING:
    from engine.pipeline import Candidate  # not at run time: it loads the LLM runtime


def order(
    candidates: Sequence[Candidate], scores: Sequence[Scores | None], n_ratings: int, top: int
) -> list[int]:
    """Indices of the candidates, best first (scores: None for an unreadable candidate)."""
    ranked = [
        rank.Candidate(
            readability=s.readability if s else 0.0,
            expected=s.expected if s else 1.0,
            contradicts_spec=c.contradicts or not c.parsed,
            embedding=s.embedding if s else None,
            key=c.node_text or None,
        )
        for c, s in zip(candidates, scores, strict=True)
    ]
    picked = rank.rank(ranked, n_ratings, top)
    # Stable sort: the rank order holds within valid, invalid and unreadable candidates.
    picked.sort(key=lambda i: (not candidates[i].parsed, not candidates[i].valid))
    return picked


class UserRanker:
    """Ranks one request's candidates for one user; after a call, `scores` holds each
    returned candidate's Scores (None: unreadable), in the returned order."""

    def __init__(
        self,
        models: Models,
        profile: Profile,
        top: int,
        population: knn.Population | None = None,
    ) -> None:
        if profile.n and profile.embeddings.shape[1] != models.dim:
            raise ValueError(
                f"the profile's embeddings are {profile.embeddings.shape[1]} wide, "
                f"the models make {models.dim}"
            )
        self.models = models
        self.profile = profile
        self.top = top
        self.population = population
        self.scores: list[Scores | None] = []

    def __call__(self, candidates: list[Candidate]) -> list[Candidate]:
        from engine.diagram.render import render_array

        drawn = [i for i, c in enumerate(candidates) if c.parsed]
        got = score(
            [render_array(candidates[i].diagram) for i in drawn],
            self.profile,
            diagrams=[candidates[i].diagram for i in drawn],
            population=self.population,
            models=self.models,
        )
        scores: list[Scores | None] = [None] * len(candidates)
        for i, s in zip(drawn, got, strict=True):
            scores[i] = s
        picked = order(candidates, scores, self.profile.n, self.top)
        self.scores = [scores[i] for i in picked]
        return [candidates[i] for i in picked]
