"""The real backend: the LLM pipeline (engine/pipeline.py) plus per-user scoring.

A batch of requests is one `sample_many` call per candidate count (all their candidates
sampled together, on the model thread). Then, on the scoring thread while the next batch
samples, every candidate is read and, per request, the asking user's ranker
(engine/scoring/user_rank.py) draws every readable one once, scores it (CNN readability; the
taste embedding: auto-encoder embedding of the picture plus the node list's content blocks;
the user's kNN expected rating, with what everyone's ratings taught it when the profiles job
has learnt a population) and orders them (engine/scoring/rank.py); the shown ones get the
PNG of that drawing. With `workers` (ENGINE_SCORE_WORKERS; by default one per core when the
model is on a GPU, none on a CPU host), every candidate of a batch is read, drawn and, with
the scorers on the CPU, scored by the CNN and the auto-encoder in worker processes side by
side (engine/scoring/workers.py); the same rankings and PNG bytes as on the scoring thread
alone.

"base" serves the built-in adapter (ENGINE_ADAPTER: the latest shipped one by default);
promoted versions are LoRA folders switched on the loaded model without a restart.
"""

from __future__ import annotations

import functools
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from engine.candidate import Candidate
from engine.diagram.model import Diagram, DiagramError
from engine.diagram.parse import parse
from engine.llm import fast, prompt
from engine.llm.load import latest_adapter
from engine.llm.load import load as load_model
from engine.llm.sampling import SamplingParams
from engine.pipeline import BadRequest, DrawResult, Ranker, check, read_many, sample_many, spec_of
from engine.scoring import autoencoder, cnn, population
from engine.scoring.profile import Models, Profile
from engine.scoring.user_rank import UserRanker
from engine.scoring.workers import Pool
from engine.service.backend import Answer, Ask, StageFn
from engine.service.config import Settings

WARM_PROMPT_TOKENS = 512  # a 1,000-character description and the prompt around it
SPECS_KEPT = 4096  # requests read by refuse() and not yet sampled: far more than a queue holds


class PipelineBackend:
    def __init__(
        self,
        lm: Any,
        cnn_model: Any,
        embedder: Any,
        base_adapter: str | None,
        sampling: SamplingParams,
        workers: int = 0,
    ) -> None:
        """workers: processes that read, draw and score candidates (0: none, the scoring
        thread does it all)."""
        self.lm = lm
        self.cnn = cnn_model
        self.embedder = embedder
        self.base_adapter = base_adapter
        self.sampling = sampling
        self.population: Any = None  # knn.Population learnt by the profiles job; None: defaults
        self._version = "base"
        self.warmed = 0  # batch rows the fast decoder was warmed for (warm)
        self.workers = workers
        self._pool: Pool | None = None  # made for the scorers it holds (_pool_for)
        # refuse() reads every request on the event loop before it is queued, and the model
        # thread's sample_many needs the same spec: kept by checked text (a Spec is frozen),
        # the model thread does not read it again (~3 ms a request, 50-92 ms of a batch of
        # 16 on the H200 host: scripts/device/profile_batch.py).
        self.reader = functools.lru_cache(maxsize=SPECS_KEPT)(spec_of)
        self.use_adapter("base", None)

    @classmethod
    def load(cls, settings: Settings) -> PipelineBackend:
        lm = load_model(settings.model, device=settings.device, bits=settings.bits or None)
        device = str(lm.device)
        backend = cls(
            lm,
            cnn.default_model(device),
            autoencoder.default_embedder(device),
            base_adapter(settings),
            settings.sampling,
            workers=score_workers(settings, device),
        )
        backend.warm(settings.batch_max_candidates)
        if (pool := backend._pool_for(backend.models())) is not None:
            pool.warm()  # the workers import the engine now, not on the first request
        return backend

    @property
    def model_version(self) -> str:
        return self._version

    def use_adapter(self, version: str, adapter: str | None) -> None:
        if adapter is None:
            self.lm.use_adapter(self.base_adapter)  # None: the bare model
        else:
            self.lm.use_adapter(version, Path(adapter))
        self._version = version
        if self.lm.device.type == "cuda" and self.warmed:
            self.warm(self.warmed)  # the new adapter's decoder, before a request waits for it

    def warm(self, rows: int) -> None:
        """On a GPU, build the fast decoder (adapter merged) and capture a CUDA graph for
        every batch size up to `rows` now, so the first request does not wait ~4 s for it."""

        self.warmed = rows
        if self.lm.device.type != "cuda":
            return
        dec = fast.decoder(self.lm)
        with dec.lock:  # the longest cache a request can need: graphs survive growing it
            dec.reserve(rows, WARM_PROMPT_TOKENS + self.sampling.max_new_tokens)
        ask = prompt.build(self.lm.tokenizer, "an MLP with 2 inputs and 1 output", None)
        for bucket in sorted({dec.bucket(r) for r in range(1, rows + 1)}):
            fast.decode(self.lm, [ask], bucket, max_new_tokens=2, stop=False)

    def use_scorer(self, kind: str, folder: Path) -> None:
        device = str(self.lm.device)
        if kind == "cnn":
            self.cnn = cnn.load(folder, device)
        elif kind == "autoencoder":
            self.embedder = autoencoder.load(folder, device)
        elif kind == "population":
            self.population = population.load(folder / population.FILE)
        else:
            raise ValueError(f"unknown scorer {kind!r}")

    def decoder_fallbacks(self) -> dict[str, int]:
        return dict(fast.fallbacks)

    def refuse(self, description: str) -> str | None:
        try:
            self.reader(check(description))
        except BadRequest as e:
            return str(e)
        return None

    def models(self) -> Any:
        """The scorers now served, as one profile.Models: the model thread may swap them."""

        return Models(self.cnn, self.embedder)

    @property
    def dim(self) -> int:
        return self.models().dim

    @property
    def blocks(self) -> tuple[slice, ...]:
        return self.models().blocks

    def embed(self, pngs: Sequence[bytes], node_lists: Sequence[str | None]) -> np.ndarray:
        images, diagrams = [decode_png(p) for p in pngs], [diagram_of(t) for t in node_lists]
        return self.models().taste(images, diagrams)

    def generate(self, asks: Sequence[Ask]) -> list[tuple[list[Ask], Any]]:
        """One sample_many per candidate count (all their candidates sampled together)."""

        by_n: dict[int, list[Ask]] = defaultdict(list)
        for ask in asks:
            by_n[ask.candidates].append(ask)
        return [
            (
                group,
                sample_many(
                    self.lm,
                    [a.description for a in group],
                    n,
                    sampling=self.sampling,
                    reader=self.reader,
                ),
            )
            for n, group in by_n.items()
        ]

    def score(
        self, asks: Sequence[Ask], generated: list[tuple[list[Ask], Any]], on_stage: StageFn
    ) -> list[Answer | None]:
        """Read every candidate, then score, rank and draw each request's for its user (a
        request withdrawn meanwhile is not scored: None)."""

        answers: dict[str, Answer] = {}
        models, population = self.models(), self.population  # the model thread may swap them
        pool = self._pool_for(models)
        for group, sampled in generated:
            rankers = [self._ranker(ask, on_stage, models, population) for ask in group]
            results = read_many(sampled, rankers, pool)
            for ask, result in zip(group, results, strict=True):
                if not ask.withdrawn():
                    answers[ask.request_id] = _answer(result)
        return [answers.get(a.request_id) for a in asks]

    def _pool_for(self, models: Models) -> Pool | None:
        """The worker pool for these scorers: a new one when they were swapped (its workers
        hold the CPU scorers they were started with); None without workers."""
        if self.workers <= 0:
            return None
        if self._pool is None or not self._pool.serves(models):
            if self._pool is not None:
                self._pool.close()
            self._pool = Pool(models, self.workers)
        return self._pool

    def _ranker(self, ask: Ask, on_stage: StageFn, models: Models, population: Any) -> Ranker:
        """The asking user's ranker (engine/scoring/user_rank.py), with the batch's scorers
        (one set for the whole batch: the pool's workers scored with them)."""

        def ranked(candidates: list[Candidate], drawn: Any = None) -> list[Candidate]:
            if ask.withdrawn():
                return candidates  # its answer is dropped: not worth scoring
            on_stage(ask.request_id, "ranking")
            profile = Profile.stored(ask.rated, ask.ratings, ask.rated_readability, models.dim)
            return UserRanker(models, profile, ask.top, population)(candidates, drawn)

        return ranked


def _answer(result: DrawResult) -> Answer:
    spec = None if result.spec is None else asdict(result.spec)
    return Answer(result.prompt, spec, result.candidates, result.timings)


def base_adapter(settings: Settings) -> str | None:
    """The adapter version "base" stands for (ENGINE_ADAPTER); None: the bare model."""

    if settings.adapter == "latest":
        return latest_adapter()
    return None if settings.adapter == "none" else settings.adapter


def score_workers(settings: Settings, device: str) -> int:
    """ENGINE_SCORE_WORKERS, or with -1 (the default) one per core when the model runs on a
    GPU and none on a CPU host: there the model thread needs the cores while the previous
    batch scores, and on 2 cores a pool of 2 made the engine no faster (4 clients: 26 and 35
    requests/min against 34 and 36 without, 8 candidates), though it scores a batch alone
    1.3-1.8x faster (docs/notes-engine.md)."""
    if settings.score_workers >= 0:
        return settings.score_workers
    return (os.cpu_count() or 1) if device.startswith("cuda") else 0


def diagram_of(node_list: str | None) -> Any:
    """The Diagram a stored node list describes; an empty one (no content: all zeros) when
    there is none or it no longer reads."""

    if not node_list:
        return Diagram(())
    try:
        return parse(node_list).diagram
    except DiagramError:
        return Diagram(())


def decode_png(png: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("not a PNG image")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
