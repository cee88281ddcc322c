"""The trainers' configs (TRL's pattern: a config dataclass, then the trainer that takes it).

Standard library only, so that the command line can make its options from these fields
(diagrammer/config_options.py: named, typed and defaulted once, here) without importing
torch or TRL. training/sft.py and training/orpo.py run them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parents[1] / "models"  # the shipped weights


@dataclass
class SftConfig:
    data: Path
    out: Path
    base: str = "default"
    epochs: float = 1.0
    max_steps: int | None = None
    lr: float = 5e-4
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    batch_size: int = 32
    max_len: int = 256
    warmup: int = 30
    hint_dropout: float = 0.1  # share of examples trained without the extractor's hint
    val_size: int = 256
    checkpoint_every: int = 200
    stop_after: int | None = None  # end this session early (checkpointed), as if interrupted
    time_limit: float | None = None  # seconds; end early (checkpointed) to fit a time box
    seed: int = 0
    device: str = "auto"
    resume: bool = False


@dataclass
class OrpoConfig:
    pairs: Path
    out: Path
    base_adapter: Path | None = None  # continue a copy of this LoRA; None: a fresh one
    base: str = "default"  # the base model the adapter belongs to
    beta: float = 0.1  # weight of the odds-ratio term (the paper's lambda)
    lr: float = 1e-4
    epochs: float = 1.0
    max_steps: int | None = None
    batch_size: int = 16  # pairs per optimizer step
    micro_batch: int = 8  # pairs per forward pass (gradient accumulation in between)
    max_len: int = 384
    warmup: int = 10
    rank: int = 16  # fresh LoRA only; a continued adapter keeps its own
    alpha: int = 32
    dropout: float = 0.05
    gradient_checkpointing: bool = False
    margin_pairs: int = 512  # pairs the before/after log odds are measured on (a seeded sample)
    seed: int = 0
    device: str = "auto"


@dataclass(frozen=True)
class AeConfig:
    out: Path = MODELS_DIR / "ae"  # = engine.scoring.autoencoder.DEFAULT_DIR
    n_images: int = 2000
    epochs: int = 10
    batch_size: int = 32
    lr: float = 2e-3
    seed: int = 0
    device: str = "auto"
    threads: int = 2
    held_out: float = 0.1


@dataclass(frozen=True)
class CnnConfig:
    """Defaults = the shipped model (models/cnn/MODEL_CARD.md): a GPU run of a few minutes."""

    out: Path = MODELS_DIR / "cnn"  # = engine.scoring.cnn.DEFAULT_DIR
    n_clean: int = 10_000
    variants: int = 6
    epochs: int = 30
    batch_size: int = 128
    lr: float = 3e-3
    seed: int = 0
    device: str = "auto"
    threads: int = 2
    held_out: float = 0.1
    width: int = 32
    size: tuple[int, int] = (250, 150)  # a quarter of the canvas: an exact 4 x 4 box average, fast
    levels: int = 5
    rank_weight: float = 0.0
    workers: int = 0  # processes rendering the data; 0: one per CPU
    test_clean: int = 150  # the fresh test set: this many clean diagrams x (1 + 6 twins)
