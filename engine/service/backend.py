"""The seam between the HTTP service and what turns descriptions into ranked diagrams.

The service knows only these types. A `Backend` answers a batch of requests at once in two
parts: `generate` (one shared generate call for all their candidates) on the engine's model
thread, then `score` (read, draw, score, rank) on its scoring thread, while the next batch
generates. It never sees HTTP or SQLite. A `Trainer` runs the heavy rebuilds on the jobs thread.
The implementations are picked by the composition root (diagrammer/commands/engine.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from engine.candidate import Candidate

# Called from the model thread as a request moves on: stage is "ranking".
StageFn = Callable[[str, str], None]


@dataclass(frozen=True)
class Ask:
    """One request of a batch, with the asking user's rating history for the kNN."""

    request_id: str
    user_id: str
    description: str
    candidates: int
    top: int
    rated: np.ndarray  # n x D float32 embeddings of diagrams this user rated
    ratings: np.ndarray  # their n scores, 1..5
    rated_readability: np.ndarray  # their CNN readability (0..5) when stored, NaN if not
    # True once the caller went away: score() may skip the ask (None for it) to save the work.
    withdrawn: Callable[[], bool] = field(default=lambda: False, compare=False, repr=False)


@dataclass(frozen=True)
class Answer:
    prompt: str  # the exact text the model was given (kept for preference pairs)
    spec: dict[str, Any] | None
    candidates: list[Candidate]  # all of them, best first, the shown ones with their PNG
    timings: dict[str, float] = field(default_factory=dict)


class Backend(Protocol):
    @property
    def model_version(self) -> str: ...

    def refuse(self, description: str) -> str | None:
        """Why this description cannot be drawn (one sentence), or None. Called before
        queueing, on the event loop: must be cheap."""

    def decoder_fallbacks(self) -> dict[str, int]:
        """Calls the fast decoder handed to the plain path, by "model: reason" (declared
        unsupported cases only; engine/llm/fast.py): {} when it never fell back."""

    def generate(self, asks: Sequence[Ask]) -> Any:
        """The model's part of a batch (model thread): whatever score() needs. Raising fails
        every request of the batch."""

    def score(self, asks: Sequence[Ask], generated: Any, on_stage: StageFn) -> list[Answer | None]:
        """The rest, without the model (scoring thread): one Answer per Ask, in order, or
        None for an ask found withdrawn(). Raising fails every request of the batch."""

    @property
    def dim(self) -> int:
        """The width of embed()'s vectors (stored ones of another width are re-embedded)."""

    @property
    def blocks(self) -> tuple[slice, ...] | None:
        """Where each block lies in embed()'s vectors, for the kNN; None: one block."""

    def embed(self, pngs: Sequence[bytes], node_lists: Sequence[str | None]) -> np.ndarray:
        """Taste embeddings (n x dim float32) of rendered diagrams and their node lists."""

    def use_adapter(self, version: str, adapter: str | None) -> None:
        """Serve this adapter from now on (None: the built-in model); no restart."""

    def use_scorer(self, kind: str, folder: Path) -> None:
        """Load newly trained scorers: kind is "autoencoder", "cnn" or "population" (what
        everyone's ratings teach the kNN: population.json in the folder)."""


@dataclass(frozen=True)
class Skipped:
    """What a Trainer returns for a rebuild it does not do here: recorded as skipped, with
    the reason, not as failed."""

    reason: str


class Trainer(Protocol):
    """Heavy rebuilds; a method that cannot run here returns Skipped. Implementations:
    training/trainer.py (the pipeline's) and demo_backend.DemoTrainer."""

    def orpo(
        self, pairs: Path, base_adapter: str | None, out_dir: Path
    ) -> dict[str, Any] | Skipped:
        """Train a LoRA adapter on the JSONL pairs into out_dir, starting from base_adapter."""

    def evaluate(self, adapter: str | None, seed: int = 0) -> dict[str, Any]:
        """Quality benchmark of an adapter: the keys engine/bench/gate.py compares, with their
        per-request values where the trainer has them (so the gate can pair them); another
        seed measures the same adapter again (the gate's noise)."""

    def autoencoder(
        self, images: list[Path], node_lists: list[str | None], out_dir: Path
    ) -> dict[str, Any] | Skipped:
        """Fine-tune the auto-encoder in use on these served renders into out_dir. The report
        holds both networks' held-out errors ("old_error", "new_error": ink-weighted MSE) and
        "embeddings", the N x D taste embedding (Backend.embed's) of the images and their node
        lists in order with the new network, which the job stores and removes before saving
        the record."""

    def cnn(
        self, samples: list[tuple[Path, float]], base: Path | None, out_dir: Path
    ) -> dict[str, Any] | Skipped:
        """Fine-tune the served readability CNN (base folder; None: the shipped one) on
        (image, mean rating 1..5) into out_dir."""
