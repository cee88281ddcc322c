"""The pipeline backend's Trainer (engine/service/backend.py): the heavy rebuilds the
engine's jobs run, each on its own copy of what it trains, so the served model keeps serving.

The engine never imports this module: the composition root (diagrammer/commands/engine.py)
hands a PipelineTrainer to the service.
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import torch

from engine.bench import gate
from engine.bench.quality import REQUESTS, read_requests, run_set, score
from engine.llm.load import adapter_dir, load
from engine.llm.sampling import SamplingParams
from engine.scoring import autoencoder, cnn, content
from engine.service.config import Settings
from engine.service.pipeline_backend import base_adapter as builtin_adapter
from engine.service.pipeline_backend import decode_png, diagram_of
from engine.store.scorers import current_scorers
from training.orpo import OrpoConfig, train
from training.train_ae import FinetuneConfig, finetune


class PipelineTrainer:
    """Rebuilds for the pipeline backend, each on its own copy of what it trains."""

    def __init__(self, settings: Settings, ae: FinetuneConfig | None = None) -> None:
        self.settings = settings
        self.ae = ae  # auto-encoder fine-tuning; None: FinetuneConfig's defaults
        self._lm: Any = None

    def evaluate(self, adapter: str | None, seed: int = 0) -> dict[str, Any]:
        """The quality benchmark (engine/bench/quality.py) on the hand-written requests, with
        the per-request values the statistical gate pairs (engine/bench/gate.py)."""
        lm = self._model()
        if adapter is None:
            lm.use_adapter(builtin_adapter(self.settings))
        else:
            lm.use_adapter(Path(adapter).name, Path(adapter))
        requests = read_requests(REQUESTS)
        # at the default temperature, as before, whatever the served ENGINE_TEMPERATURE
        sampling = SamplingParams(max_new_tokens=self.settings.max_new_tokens, seed=seed)
        results, seconds = run_set(lm, requests, sampling=sampling)
        report: dict[str, Any] = asdict(score(lm.name, REQUESTS.name, requests, results, seconds))
        if len(requests) == len(results):  # read_requests keeps only what the pipeline accepts
            report[gate.PER_REQUEST] = gate.samples(requests, results)
        return report

    def orpo(self, pairs: Path, base_adapter: str | None, out_dir: Path) -> dict[str, Any]:
        """ORPO (training/orpo.py) on a copy of base_adapter (a folder; None: the built-in
        version), on its own copy of the model: the served one keeps serving."""
        s = self.settings
        start: Path | None = Path(base_adapter) if base_adapter else None
        if start is None and (version := builtin_adapter(s)) is not None:
            start = adapter_dir(version) if adapter_dir(version).is_dir() else Path(version)
        cfg = OrpoConfig(pairs, out_dir, base_adapter=start, base=s.model, device=s.device)
        summary = train(cfg)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # hand the training copy's memory back to serving
        return summary

    def autoencoder(
        self, images: list[Path], node_lists: list[str | None], out_dir: Path
    ) -> dict[str, Any]:
        """Fine-tune the auto-encoder in use (training/train_ae.py finetune) on these served
        renders, oldest first, into out_dir. The report holds both networks' held-out errors
        ("old_error", "new_error") and, under "embeddings", the taste embedding of every image
        and its node list with the new network (N x D float32, in order, as
        PipelineBackend.embed makes them) for the caller to store: not JSON."""
        base = current_scorers(self.settings.data_dir).get("autoencoder", autoencoder.DEFAULT_DIR)
        device = None if self.settings.device == "auto" else self.settings.device
        seed = time.time_ns() % 2**31  # fresh synthetic diagrams each time
        cfg = replace(self.ae or FinetuneConfig(), seed=seed, device=device)
        vectors, report = finetune(base, images, out_dir, cfg, log=lambda line: None)
        blocks = autoencoder.load(out_dir, "cpu").blocks
        taste = content.combine(vectors, blocks, [diagram_of(t) for t in node_lists])
        return report | {"base": str(base), "embeddings": taste}

    def cnn(
        self, samples: list[tuple[Path, float]], base: Path | None, out_dir: Path
    ) -> dict[str, Any]:
        """Fine-tune the served CNN (base; None: the shipped one) on mean ratings."""
        model = cnn.load(base) if base is not None else cnn.load()
        images = [decode_png(path.read_bytes()) for path, _ in samples]
        losses = cnn.finetune_on_ratings(model, images, [mean for _, mean in samples])
        cnn.save(model, out_dir, {"finetuned_on": len(samples)})
        return {"losses": losses}

    def _model(self) -> Any:
        """A second copy of the model for evaluation: the served one keeps serving."""
        if self._lm is None:
            s = self.settings
            self._lm = load(s.model, device=s.device, bits=s.bits or None)
        return self._lm
