"""Worker processes that read, draw and (on a CPU host) score a batch's candidates side by side.

Reading a candidate (sketch parse, layout, validation, metrics, fidelity), drawing it and
its picture's descriptors are Python and OpenCV per candidate, most of it under the GIL: one
thread does them one after another however many cores there are (on the GPU host it was
the engine's bound: ~1.9 s a batch of ~63 candidates). A pool of os.cpu_count() processes
does them side by side, each candidate once (engine.pipeline.read_many hands the pool all
of a batch's candidates, then each request's ranker gets them read and drawn).

With the scorers on the CPU, the workers also run the CNN and the auto-encoder's encoder, one
torch thread each: two threads per op beside the model thread's own oversubscribe the
cores (the CNN's 8 images took 80 ms of CPU on one thread, 360 ms on two, on 2 busy cores).
With them on a GPU, the pool runs them in the engine's process, one batch for all of the
batch's candidates. What comes
back is small: the PNG (the same bytes as render()), the models' small inputs, the
descriptors, the scores. Workers are spawned, not forked: a fork of a process whose torch
and OpenMP threads are running can hang. The scorers a pool holds are the ones it was made
with (`serves`): the engine makes a new pool when it swaps them.
"""

from __future__ import annotations

import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.candidate import Candidate
from engine.diagram.model import Spec
from engine.pipeline import read
from engine.scoring import cnn
from engine.scoring.drawing import Drawn, as_float, draw
from engine.scoring.preprocess import DEFAULT_SIZE, Size

_models: Any = None  # in a worker: the CPU scorers (profile.Models) or None
_cnn_size: Size = DEFAULT_SIZE


class Pool:
    """read + draw (+ CNN and auto-encoder on a CPU host) for many candidates at once."""

    def __init__(
        self, models: Any, workers: int | None = None, score_there: bool | None = None
    ) -> None:
        """models: the profile.Models the rankers will score with; score_there: the workers
        run the CNN and the auto-encoder (None: when the models are on the CPU)."""
        self.workers = workers or os.cpu_count() or 1
        self.models = models
        on_cpu = _device(models) == "cpu" if score_there is None else score_there
        size = tuple(models.cnn.input_size)
        self._executor = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(models if on_cpu else None, size),
        )

    def serves(self, models: Any) -> bool:
        """Whether this pool's workers score with these models (the same objects)."""
        return self.models.cnn is models.cnn and self.models.embedder is models.embedder

    def warm(self) -> None:
        """Start every worker now (each imports the engine: seconds), not on the first batch."""
        list(self._executor.map(_ready, range(self.workers)))

    def prepare(self, items: list[tuple[Any, Spec | None]]) -> list[tuple[Candidate, Drawn | None]]:
        """(generation, spec) pairs -> each read (engine.pipeline.read) and, when a diagram
        came out, drawn and scored, in order. What the workers did not score (the scorers
        are on a GPU) is scored here, all of the batch in one call per model."""
        chunk = max(1, math.ceil(len(items) / (2 * self.workers)))
        out = list(self._executor.map(_prepare, items, chunksize=chunk))
        todo = [i for i, (_, d) in enumerate(out) if d is not None and d.readability is None]
        if todo:
            drawn = [out[i][1] for i in todo]
            scores = cnn.score_batch(self.models.cnn, as_float([d.cnn_input for d in drawn]))
            latents = self.models.embedder.latents(as_float([d.ae_input for d in drawn]))
            for i, d, r, z in zip(todo, drawn, scores, latents, strict=True):
                out[i] = (out[i][0], replace(d, readability=float(r), latent=z))
        return out

    def cpu_seconds(self) -> float:
        """CPU time the live workers have used so far (Linux /proc; 0 elsewhere), for the
        benchmark's CPU accounting."""
        total = 0.0
        for pid in list(getattr(self._executor, "_processes", None) or {}):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _device(models: Any) -> str:
    return next(models.cnn.parameters()).device.type


def _start(models: Any, cnn_size: Size) -> None:
    import cv2
    import torch

    global _models, _cnn_size
    torch.set_num_threads(1)  # the pool is the parallelism: one thread a process
    cv2.setNumThreads(1)
    if models is not None:  # oneDNN's channels-last convolutions: 5.6 -> 3.9 ms an image
        models.cnn.eval().to(memory_format=torch.channels_last)  # (scores within 1e-6)
    _models, _cnn_size = models, cnn_size


def _ready(_: int) -> int:
    return os.getpid()


def _prepare(item: tuple[Any, Spec | None]) -> tuple[Candidate, Drawn | None]:
    candidate = read(*item)
    if not candidate.parsed:
        return candidate, None
    drawn = draw(candidate.diagram, _cnn_size)
    drawn = replace(drawn, png=drawn.png_bytes(), image=None)
    if _models is not None:
        import torch

        x = torch.from_numpy(as_float([drawn.cnn_input])).contiguous(
            memory_format=torch.channels_last
        )
        with torch.inference_mode():
            readability = float(_models.cnn(x)[0])
        latent = _models.embedder.latents(as_float([drawn.ae_input]))[0]
        drawn = replace(drawn, readability=readability, latent=latent)
    return candidate, drawn
