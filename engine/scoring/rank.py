"""The final order of a request's candidates.

1. Candidates that contradict an explicit request spec (a spec exists and fidelity is not
   exact) go after every candidate that matches it.
2. Among the rest: a weighted sum of the CNN readability and the user's expected rating,
   both on the 1..5 rating scale, the user's weight growing with their number of ratings n:

       w     = n / (n + HALF_WEIGHT_AT)        (0 with no ratings, 1/2 at HALF_WEIGHT_AT)
       score = (1 - w) * (1 + 0.8 * cnn) + w * expected

   (cnn is 0..5, so 1 + 0.8 * cnn maps it onto 1..5.) The expected rating is itself shrunk
   toward the readability prior while the user's ratings are few or unlike the candidate
   (knn.py), so w can grow fast: HALF_WEIGHT_AT = 3 did as well or better than 1 or 10 in
   `diagrammer bench personalization`.
3. Near-duplicates are not shown twice in the top K: walking down that order, a candidate
   whose node list equals, or whose embedding lies within DUPLICATE_DISTANCE of, one already
   picked waits until after the top K. Only when fewer than K distinct candidates match the
   spec does a contradicting one enter the top K; a duplicate never does.

4. As a request's candidates are served (`order`): invalid drawings after valid ones, and
   texts nothing could be drawn from last, the order above kept within each.

`rank` is a pure function over plain data (the personalization benchmark calls it);
`order` is the one ordering of a request's scored candidates, which the engine
(engine/scoring/user_rank.py), `diagrammer draw --user` and the demo backend all use.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.candidate import Candidate

HALF_WEIGHT_AT = 3
DUPLICATE_DISTANCE = 0.05


@dataclass(frozen=True)
class Ranked:
    """What `rank` needs to know about one candidate.

    readability: CNN readability 0..5; expected: the user's expected rating 1..5 (the prior
    when they have none); contradicts_spec: the request states a structure this one breaks;
    embedding: auto-encoder embedding (None skips the distance test); key: anything hashable
    that is equal for identical node lists (e.g. the Diagram's nodes), None skips that test.
    """

    readability: float
    expected: float
    contradicts_spec: bool = False
    embedding: Sequence[float] | np.ndarray | None = None
    key: Hashable | None = None


def user_weight(n_ratings: int) -> float:
    return n_ratings / (n_ratings + HALF_WEIGHT_AT) if n_ratings > 0 else 0.0


def blended_score(c: Ranked, n_ratings: int) -> float:
    w = user_weight(n_ratings)
    return (1.0 - w) * (1.0 + 0.8 * c.readability) + w * c.expected


def rank(
    candidates: Sequence[Ranked],
    n_ratings: int,
    top_k: int,
    duplicate_distance: float = DUPLICATE_DISTANCE,
) -> list[int]:
    """Indices of `candidates`, best first: the top K are distinct, then the rest."""
    order = sorted(
        range(len(candidates)),
        key=lambda i: (candidates[i].contradicts_spec, -blended_score(candidates[i], n_ratings), i),
    )
    picked: list[int] = []
    for i in order:
        if len(picked) == top_k:
            break
        if not any(_duplicates(candidates[i], candidates[j], duplicate_distance) for j in picked):
            picked.append(i)
    return picked + [i for i in order if i not in picked]


def order(candidates: Sequence[Candidate], n_ratings: int, top_k: int) -> list[int]:
    """Indices of a request's scored candidates, best first (rules 1 to 4). An unscored
    candidate (nothing drawn) counts as readability 0 and expected rating 1."""
    ranked = [
        Ranked(
            readability=c.cnn_readability or 0.0,
            expected=1.0 if c.expected_rating is None else c.expected_rating,
            contradicts_spec=c.contradicts or not c.parsed,
            embedding=c.embedding,
            key=c.node_text or None,
        )
        for c in candidates
    ]
    picked = rank(ranked, n_ratings, top_k)
    # Stable sort: the rank order holds within valid, invalid and unreadable candidates.
    picked.sort(key=lambda i: (not candidates[i].parsed, not candidates[i].valid))
    return picked


def _duplicates(a: Ranked, b: Ranked, max_distance: float) -> bool:
    if a.key is not None and a.key == b.key:
        return True
    if a.embedding is None or b.embedding is None:
        return False
    diff = np.asarray(a.embedding, dtype=np.float64) - np.asarray(b.embedding, dtype=np.float64)
    return float(np.sqrt((diff * diff).sum())) < max_distance
