"""Auto-encoder embeddings: what a diagram looks like, as a vector where taste has distance.

The embedding of a render is five blocks, each scaled so that it contributes equally, on
average, to the distance between two random training diagrams, and the whole so that such a
pair is about 1 apart (root mean square):

- latent (LATENT values): the bottleneck of a convolutional auto-encoder over the
  preprocessed 3 x 96 x 160 input (preprocess.py), standardised per dimension. It keeps
  the layout: where nodes and edges are, how many, how big.
- colour, orientation, line, density: the handcrafted descriptors of descriptors.py (node
  and line colours, shape and flow direction, dashed lines, ink density and spread); the
  scalar ones are standardised per value first.

The auto-encoder's loss is a mean squared error in which ink pixels (any channel below
0.96) weigh INK_WEIGHT times more than the white canvas: without that, a plain MSE learns
the empty page and lets thin lines and pale fills go.

Two renders of the same diagram are identical, so their embeddings are too (distance 0).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from engine.device import pick_device
from engine.scoring import descriptors, weights
from engine.scoring.preprocess import INPUT_H, INPUT_W, to_batch

DEFAULT_DIR = weights.MODELS_DIR / "ae"
LATENT = 32
INK_WEIGHT = 10.0
INK_BELOW = 0.96
BLOCKS = ("latent", *descriptors.BLOCKS)
STANDARDISED = ("dashes", "coverage", "layout")  # scalar descriptors in unlike units
_LEVELS = [(48, 80), (24, 40), (12, 20), (6, 10)]


class ConvAE(nn.Module):
    def __init__(self, latent: int = LATENT, width: int = 32) -> None:
        super().__init__()
        enc = [3, width, width * 3 // 2, 2 * width, 2 * width]
        dec = [2 * width, width * 3 // 2, width * 3 // 4, width * 3 // 8]
        layers: list[nn.Module] = []
        for cin, cout in zip(enc, enc[1:], strict=False):
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.ReLU(inplace=True)]
        self.encoder = nn.Sequential(*layers)
        self.cells = enc[-1] * _LEVELS[-1][0] * _LEVELS[-1][1]
        self.to_latent = nn.Linear(self.cells, latent)
        self.from_latent = nn.Linear(latent, self.cells)
        self.up = nn.ModuleList(
            nn.Conv2d(cin, cout, 3, padding=1) for cin, cout in zip(dec, dec[1:], strict=False)
        )
        self.out = nn.Conv2d(dec[-1], 3, 3, padding=1)
        self.latent, self.width = latent, width

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_latent(self.encoder(x).flatten(1))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.from_latent(z)).view(len(z), -1, *_LEVELS[-1])
        for conv, size in zip(self.up, reversed(_LEVELS[:-1]), strict=False):
            h = F.relu(conv(F.interpolate(h, size=size, mode="nearest")))
        h = F.interpolate(h, size=(INPUT_H, INPUT_W), mode="nearest")
        return torch.sigmoid(self.out(h))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encode(x)
        return self.decode(z), z


def ink_weighted_mse(recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MSE where ink pixels of the target weigh INK_WEIGHT times more than white canvas."""
    ink = (target.amin(dim=1, keepdim=True) < INK_BELOW).float()
    w = 1.0 + (INK_WEIGHT - 1.0) * ink
    return (w * (recon - target) ** 2).sum() / (w.sum() * target.shape[1])


@dataclass
class Embedder:
    """A trained auto-encoder plus the statistics that scale the embedding's blocks."""

    model: ConvAE
    stats: dict  # per block: "mean", "std" (per value) and "scale" (the block's RMS distance)

    @property
    def dim(self) -> int:
        return self.model.latent + descriptors.SIZE

    @property
    def blocks(self) -> tuple[slice, ...]:
        """Where each block lies in the embedding (knn.py compares them one at a time)."""
        return block_slices(self.model.latent)

    @torch.no_grad()
    def latents(self, batch: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Preprocessed N x 3 x H x W inputs -> N x LATENT raw latents."""
        self.model.eval()
        device = next(self.model.parameters()).device
        out = [
            self.model.encode(torch.from_numpy(batch[i : i + batch_size]).to(device)).cpu().numpy()
            for i in range(0, len(batch), batch_size)
        ]
        return np.concatenate(out) if out else np.zeros((0, self.model.latent), np.float32)

    def raw(self, images: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """Per block, the unscaled values for HxWx3 uint8 RGB renders."""
        batch = to_batch(images)
        desc = np.zeros((len(images), descriptors.SIZE), np.float32)
        pairs = list(zip(images, batch, strict=True))
        run = describe_pool().map if len(pairs) > 1 else map
        for i, values in enumerate(run(lambda pair: descriptors.describe(*pair), pairs)):
            desc[i] = values
        blocks = {name: desc[:, s] for name, s in descriptors.BLOCKS.items()}
        return {"latent": self.latents(batch), **blocks}

    def embed(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """HxWx3 uint8 RGB renders -> N x dim float32 embeddings (see the module docstring)."""
        return combine(self.raw(images), self.stats)


def block_slices(latent: int = LATENT) -> tuple[slice, ...]:
    """The embedding's blocks in order: latent, then descriptors.BLOCKS."""
    shifted = (slice(s.start + latent, s.stop + latent) for s in descriptors.BLOCKS.values())
    return (slice(0, latent), *shifted)


def block_stats(raw: dict[str, np.ndarray], seed: int = 0) -> dict:
    """Scaling statistics from the raw blocks of a training set (see the module docstring)."""
    rng = np.random.default_rng(seed)
    stats: dict = {}
    for name in BLOCKS:
        x = raw[name].astype(np.float64)
        mean = x.mean(0) if name in ("latent", *STANDARDISED) else np.zeros(x.shape[1])
        std = x.std(0) + 1e-6 if name in ("latent", *STANDARDISED) else np.ones(x.shape[1])
        z = (x - mean) / std
        a, b = rng.integers(0, len(z), (2, 4 * len(z)))
        rms = float(np.sqrt(((z[a] - z[b]) ** 2).sum(1).mean())) + 1e-9
        stats[name] = {"mean": mean.tolist(), "std": std.tolist(), "scale": rms}
    return stats


def combine(raw: dict[str, np.ndarray], stats: dict) -> np.ndarray:
    parts = []
    for name in BLOCKS:
        s = stats[name]
        z = (raw[name] - np.asarray(s["mean"])) / np.asarray(s["std"])
        parts.append(z / (s["scale"] * np.sqrt(len(BLOCKS))))
    return np.concatenate(parts, axis=1).astype(np.float32)


def save(embedder: Embedder, folder: Path, info: dict | None = None) -> None:
    model = embedder.model
    config = {"latent": model.latent, "width": model.width, "stats": embedder.stats}
    weights.save(model, {**config, **(info or {})}, folder)


def load(folder: Path = DEFAULT_DIR, device: str | torch.device | None = None) -> Embedder:
    state, config = weights.load(folder)
    model = ConvAE(latent=int(config["latent"]), width=int(config["width"]))
    model.load_state_dict(state)
    return Embedder(model.to(pick_device(device)).eval(), config["stats"])


@lru_cache(maxsize=2)
def default_embedder(device: str | None = None) -> Embedder:
    """The shipped auto-encoder (models/ae/), loaded once per device."""
    return load(DEFAULT_DIR, device)


@cache
def describe_pool() -> ThreadPoolExecutor:
    """Threads that describe a batch's images side by side: OpenCV and numpy's whole-array
    operations release the GIL, so this scales with the cores (21.5 -> 12.9 ms an image on 2
    cores) and the engine's model thread spends less of each batch on it. Same values."""
    return ThreadPoolExecutor(min(8, os.cpu_count() or 1), thread_name_prefix="describe")
