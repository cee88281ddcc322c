"""One candidate drawing of a request, from the text the model wrote to the PNG shown.

One type all the way: the pipeline reads it (engine/pipeline.read: diagram, problems,
metrics, fidelity), the scorers add the asking user's scores (engine/scoring/user_rank.py,
or the demo backend's own), engine/scoring/rank.order puts a request's candidates in order,
the shown ones get their PNG, and the engine stores and answers it. Each stage fills in
its own fields (dataclasses.replace); none converts it into another type.

parsed: a diagram came out of the text; valid: parsed and validation found nothing;
contradicts: the request states a structure (spec) this diagram does not match, or nothing
could be drawn; rank is 1-based after ranking (0 before); png is set for the shown ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from engine.diagram.fidelity import Fidelity
from engine.diagram.metrics import Metrics
from engine.diagram.model import Diagram, Problem

if TYPE_CHECKING:  # not at run time: it loads torch, which the demo backend never needs
    from engine.llm.generate import Generation


@dataclass(frozen=True)
class Candidate:
    text: str  # what the model (or a person, or the demo's stand-in) wrote
    generation: Generation | None = None  # None: no language model wrote it
    natural_stop: bool | None = None  # the text ended by itself, not at the token limit
    diagram: Diagram | None = None
    node_text: str = ""  # the interchange node list; "" when nothing could be read
    problems: list[Problem] = field(default_factory=list)
    valid: bool = False
    metrics: Metrics | None = None
    fidelity: Fidelity | None = None
    contradicts: bool = False
    # The asking user's scores, once scored: CNN readability 0..5, expected rating 1..5 and
    # its confidence 0..1, the taste embedding the kNN compares.
    cnn_readability: float | None = None
    expected_rating: float | None = None
    confidence: float | None = None
    embedding: np.ndarray | None = None
    rank: int = 0
    png: bytes | None = None

    @property
    def parsed(self) -> bool:
        return self.diagram is not None and bool(self.diagram.nodes)

    @property
    def readability(self) -> float:
        """Geometric readability 0..1 (engine/diagram/metrics.py); 0 when nothing was read."""
        return self.metrics.readability if self.metrics else 0.0

    def scores(self) -> dict[str, float | bool | None]:
        """The scores as the engine stores and answers them (None: not measured)."""
        fid = self.fidelity
        return {
            "readability": self.readability if self.parsed else None,
            "cnn_readability": self.cnn_readability,
            "expected_rating": self.expected_rating,
            "confidence": self.confidence,
            "fidelity": None if fid is None else fid.score,
            "fidelity_exact": None if fid is None else fid.exact,
        }
