"""A request's candidates ranked for one user, the way the engine ranks them.

Each readable candidate is drawn once and scored (profile.py): CNN readability, the taste
embedding (the auto-encoder's embedding of the picture plus the node list's content blocks,
content.py) and the user's kNN expected rating with its confidence. rank.order puts them in
order: candidates that contradict the request's spec last, the rest by readability blended
with the expected rating (the user's weight growing with their ratings), near-duplicates
out of the top K, invalid drawings after valid ones and unreadable texts last. The first K
readable ones get their PNG, encoded from the same drawing.

UserRanker is an engine.pipeline.Ranker: the engine's PipelineBackend gives one per request
to read_many, `diagrammer draw --user` one to draw. Given the candidates already drawn
(drawing.Drawn, from read_many's worker pool: engine/scoring/workers.py), it draws none
itself and scores what the workers left unscored in one batch.
"""

from __future__ import annotations

from dataclasses import replace

from engine.candidate import Candidate
from engine.scoring import drawing, knn
from engine.scoring.profile import Models, Profile, score_drawn
from engine.scoring.rank import order


class UserRanker:
    """Scores, orders and draws one request's candidates for one user (see the module)."""

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

    def __call__(
        self, candidates: list[Candidate], drawn: list[drawing.Drawn | None] | None = None
    ) -> list[Candidate]:
        parsed = [i for i, c in enumerate(candidates) if c.parsed]
        if drawn is None:
            size = self.models.cnn.input_size
            made = drawing.draw_many([candidates[i].diagram for i in parsed], size)
            pictures = dict(zip(parsed, made, strict=True))
        else:
            pictures = {i: drawn[i] for i in parsed}
        got = score_drawn(
            list(pictures.values()),
            self.profile,
            [candidates[i].diagram for i in parsed],
            self.population,
            self.models,
        )
        # Nothing drawn, nothing scored: the lowest expected rating, no confidence.
        scored = [replace(c, expected_rating=1.0, confidence=0.0) for c in candidates]
        for i, s in zip(parsed, got, strict=True):
            scored[i] = replace(
                candidates[i],
                cnn_readability=s.readability,
                expected_rating=s.expected,
                confidence=s.confidence,
                embedding=s.embedding,
            )
        picked = order(scored, self.profile.n, self.top)
        shown = set([i for i in picked if scored[i].parsed][: self.top])
        return [
            replace(scored[i], png=pictures[i].png_bytes()) if i in shown else scored[i]
            for i in picked
        ]
