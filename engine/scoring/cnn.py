"""CNN readability: a small conv net over the whole rendered image -> a score on 0..5.

Input is engine/scoring/preprocess.py's 3 x H x W RGB tensor at the model's own input size
(config.json "input"; 160 x 96 for the first model), inverted so that ink, not paper, is the
signal. Stride-2 conv blocks (conv, batch norm, ReLU; a second conv from the third level on)
see the image down to a coarse grid; global average and max pooling then keep both "how
cluttered is it overall" and "is there one bad spot" (an overlap, a node off the canvas).
The output is 5 * sigmoid, so it can never leave 0..5 (5 x the geometric readability).

First trained on synthetic diagrams labelled by the geometric readability
(training/train_cnn.py); finetune_on_ratings() then teaches it what people rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine.device import pick_device
from engine.scoring import weights
from engine.scoring.preprocess import DEFAULT_SIZE, Size, check_size, to_batch

DEFAULT_DIR = weights.MODELS_DIR / "cnn"
SCALE = 5.0


class ReadabilityCNN(nn.Module):
    def __init__(self, width: int = 16, size: Size = DEFAULT_SIZE, levels: int = 4) -> None:
        """`levels` stride-2 blocks of width, 2, 3, 4, 4, ... x width channels; `size` is the
        (width, height) its inputs are preprocessed to (the net itself takes any size)."""
        super().__init__()
        chans = [3, *(width * min(k + 1, 4) for k in range(levels))]
        blocks: list[nn.Module] = []
        for level, (cin, cout) in enumerate(zip(chans, chans[1:], strict=False)):
            blocks += _conv(cin, cout, stride=2)
            if level >= 2:  # a second conv where the maps are small enough to afford it
                blocks += _conv(cout, cout, stride=1)
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.Linear(2 * chans[-1], 64), nn.ReLU(inplace=True), nn.Linear(64, 1)
        )
        self.width, self.levels, self.input_size = width, levels, check_size(size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """N x 3 x H x W in 0..1 -> N scores in 0..5."""
        f = self.features(1.0 - x)  # ink, not paper: a blank canvas is all zeros
        pooled = torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)
        return SCALE * torch.sigmoid(self.head(pooled).squeeze(1))


def _conv(cin: int, cout: int, stride: int) -> list[nn.Module]:
    """3 x 3 conv, batch norm (without it training barely leaves the mean), ReLU."""
    return [
        nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    ]


def rating_to_target(ratings: np.ndarray | Sequence[float]) -> np.ndarray:
    """Ratings 1..5 -> the CNN's 0..5 scale (1 = unreadable = 0, 5 = 5)."""
    return (np.asarray(ratings, dtype=np.float32) - 1.0) * SCALE / 4.0


def target_to_rating(scores: np.ndarray | Sequence[float]) -> np.ndarray:
    """The CNN's 0..5 scale -> ratings 1..5 (the inverse of rating_to_target)."""
    return 1.0 + np.asarray(scores, dtype=np.float32) * 4.0 / SCALE


def save(model: ReadabilityCNN, folder: Path, info: dict | None = None) -> None:
    shape = {"width": model.width, "levels": model.levels, "input": list(model.input_size)}
    weights.save(model, {**shape, **(info or {})}, folder)


def load(folder: Path = DEFAULT_DIR, device: str | torch.device | None = None) -> ReadabilityCNN:
    """A saved model; configs that name no input size or levels are the first model's."""
    state, config = weights.load(folder)
    model = ReadabilityCNN(
        width=int(config["width"]),
        size=tuple(config.get("input", DEFAULT_SIZE)),
        levels=int(config.get("levels", 4)),
    )
    model.load_state_dict(state)
    return model.to(pick_device(device)).eval()


@lru_cache(maxsize=2)
def default_model(device: str | None = None) -> ReadabilityCNN:
    """The shipped model (models/cnn/), loaded once per device."""
    return load(DEFAULT_DIR, device)


@torch.no_grad()
def score_batch(model: ReadabilityCNN, batch: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """Preprocessed N x 3 x H x W inputs -> N scores in 0..5."""
    model.eval()
    device = next(model.parameters()).device
    out = [
        model(torch.from_numpy(batch[i : i + batch_size]).to(device)).cpu().numpy()
        for i in range(0, len(batch), batch_size)
    ]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def score_images(model: ReadabilityCNN, images: Sequence[np.ndarray]) -> np.ndarray:
    """HxWx3 uint8 RGB renders -> N scores in 0..5 (preprocessed at the model's input size)."""
    return score_batch(model, to_batch(images, model.input_size))


def finetune_on_ratings(
    model: ReadabilityCNN,
    images: Sequence[np.ndarray],
    ratings: Sequence[float],
    epochs: int = 3,
    lr: float = 1e-4,
    batch_size: int = 32,
    seed: int = 0,
) -> list[float]:
    """Teach the model what people rate: MSE toward rating_to_target(rating), in place.

    Everyone's ratings of rendered diagrams (1..5) become targets on the 0..5 scale. A low
    learning rate and few epochs nudge the synthetic-trained model rather than overwrite it.
    Returns the mean training loss of each epoch.
    """
    if len(images) != len(ratings):
        raise ValueError(f"{len(images)} images but {len(ratings)} ratings")
    if not images:
        return []
    x = torch.from_numpy(to_batch(images, model.input_size))
    y = torch.from_numpy(rating_to_target(ratings))
    device = next(model.parameters()).device
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for m in model.modules():  # keep the batch-norm statistics of the large first training:
        if isinstance(m, nn.BatchNorm2d):  # a few rated images would skew them
            m.eval()
    losses = []
    for _ in range(epochs):
        total = 0.0
        for idx in torch.randperm(len(x), generator=generator).split(batch_size):
            loss = nn.functional.mse_loss(model(x[idx].to(device)), y[idx].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        losses.append(total / len(x))
    model.eval()
    return losses
