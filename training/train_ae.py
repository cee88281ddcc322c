"""Train the auto-encoder (engine/scoring/autoencoder.py) on rendered synthetic diagrams.

`diagrammer train ae` calls train(). Data: clean synthetic answers in every style the data
generator knows (training/data), rendered and preprocessed once; 10% are held out. The loss is
the ink-weighted MSE; the report gives the plain and weighted reconstruction error on the
held-out renders, a PNG of originals vs reconstructions and the loss curve.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from engine.diagram.model import Diagram
from engine.diagram.render import render_array
from engine.scoring import autoencoder, descriptors, weights
from engine.scoring.autoencoder import ConvAE, Embedder, ink_weighted_mse
from engine.scoring.preprocess import to_input
from engine.scoring.weights import pick_device

Log = Callable[[str], None]


@dataclass(frozen=True)
class AeConfig:
    out: Path = autoencoder.DEFAULT_DIR
    n_images: int = 2000
    epochs: int = 10
    batch_size: int = 32
    lr: float = 2e-3
    seed: int = 0
    device: str | None = None
    threads: int = 2
    held_out: float = 0.1


@dataclass
class RenderSet:
    """Rendered diagrams, kept small: preprocessed inputs as uint8, plus their descriptors."""

    inputs: np.ndarray  # N x 3 x H x W uint8 (to_input * 255, exactly)
    descriptors: np.ndarray  # N x descriptors.SIZE float32

    def batch(self, idx: np.ndarray | Sequence[int]) -> torch.Tensor:
        return torch.from_numpy(self.inputs[idx].astype(np.float32) / 255.0)


def render_set(diagrams: Sequence[Diagram], progress: bool = True) -> RenderSet:
    inputs, descs = [], []
    for d in tqdm(diagrams, desc="render", unit="img", disable=not progress, leave=False):
        image = render_array(d)
        small = to_input(image)
        inputs.append(np.round(small * 255).astype(np.uint8))
        descs.append(descriptors.describe(image, small))
    return RenderSet(np.stack(inputs), np.stack(descs))


def sample_diagrams(n: int, seed: int, progress: bool = True) -> list[Diagram]:
    """n clean synthetic diagrams in varied styles (training/data's generator)."""
    from training.data.synth import examples

    made = tqdm(examples(n, seed), total=n, desc="generate", unit="diagram", leave=False,
                disable=not progress)  # fmt: skip
    return [e.diagram for e in made]


def train(cfg: AeConfig, report_dir: Path, log: Log = print) -> dict:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)
    started = time.time()
    log(f"rendering {cfg.n_images} synthetic diagrams (seed {cfg.seed})")
    data = render_set(sample_diagrams(cfg.n_images, cfg.seed))
    order = np.random.default_rng(cfg.seed).permutation(cfg.n_images)
    n_val = max(1, int(cfg.held_out * cfg.n_images))
    val, tr = order[:n_val], order[n_val:]
    model = ConvAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    steps = cfg.epochs * ((len(tr) + cfg.batch_size - 1) // cfg.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, cfg.lr, total_steps=steps)
    history: list[dict] = []
    rng = np.random.default_rng(cfg.seed + 1)
    bar = tqdm(total=steps, desc="train ae", unit="step")
    for epoch in range(cfg.epochs):
        model.train()
        total = 0.0
        for idx in np.array_split(rng.permutation(tr), steps // cfg.epochs):
            x = data.batch(idx).to(device)
            loss = ink_weighted_mse(model(x)[0], x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(idx)
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.4f}")
        errors = reconstruction_errors(model, data, val, device)
        history.append({"epoch": epoch + 1, "train_loss": total / len(tr), **errors})
        log(json.dumps(history[-1]))
    bar.close()
    embedder = Embedder(model.eval(), {})
    embedder.stats = fit_stats(embedder, data, cfg.seed)
    report = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "device": str(device),
        "minutes": round((time.time() - started) / 60, 2),
        "held_out": history[-1],
        "history": history,
    }
    autoencoder.save(embedder, cfg.out, {"trained": report["held_out"], "seed": cfg.seed})
    report_dir.mkdir(parents=True, exist_ok=True)
    _plot_losses(history, report_dir / "ae_loss.png")
    _plot_reconstructions(model, data, val[:8], device, report_dir / "ae_reconstructions.png")
    (report_dir / "ae_report.json").write_text(json.dumps(report, indent=2) + "\n")
    log(f"saved {cfg.out}; report in {report_dir}")
    return report


def fit_stats(embedder: Embedder, data: RenderSet, seed: int) -> dict:
    """The embedding's block scaling (autoencoder.block_stats) over a set of renders."""
    raw = {"latent": embedder.latents(data.inputs.astype(np.float32) / 255.0)}
    raw |= {name: data.descriptors[:, s] for name, s in descriptors.BLOCKS.items()}
    return autoencoder.block_stats(raw, seed)


def refit_stats(cfg: AeConfig, log: Log = print) -> dict:
    """Keep the trained network in cfg.out, recompute only the block scaling (after a change
    to descriptors.py, which costs minutes, where retraining the network costs much more)."""
    torch.set_num_threads(cfg.threads)
    embedder = autoencoder.load(cfg.out, pick_device(cfg.device))
    _, config = weights.load(cfg.out)
    log(f"rendering {cfg.n_images} synthetic diagrams (seed {cfg.seed}) for the scaling")
    embedder.stats = fit_stats(
        embedder, render_set(sample_diagrams(cfg.n_images, cfg.seed)), cfg.seed
    )
    info = {k: v for k, v in config.items() if k not in ("latent", "width", "stats")}
    autoencoder.save(embedder, cfg.out, info | {"stats_images": cfg.n_images})
    log(f"saved {cfg.out}")
    return {"stats_images": cfg.n_images, "blocks": list(embedder.stats)}


@torch.no_grad()
def reconstruction_errors(
    model: ConvAE, data: RenderSet, idx: np.ndarray, device: torch.device
) -> dict[str, float]:
    """Held-out plain MSE, ink-weighted MSE and MSE on ink pixels only (images in 0..1)."""
    model.eval()
    sums = np.zeros(3)
    count = 0
    for part in np.array_split(idx, max(1, len(idx) // 64)):
        x = data.batch(part).to(device)
        recon = model(x)[0]
        ink = (x.amin(dim=1, keepdim=True) < autoencoder.INK_BELOW).expand_as(x)
        err = (recon - x) ** 2
        sums += [
            err.mean().item() * len(part),
            ink_weighted_mse(recon, x).item() * len(part),
            (err[ink].mean().item() if ink.any() else 0.0) * len(part),
        ]
        count += len(part)
    mse, weighted, ink_mse = sums / count
    return {"val_mse": mse, "val_weighted_mse": weighted, "val_ink_mse": ink_mse}


def _plot_losses(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, [h["train_loss"] for h in history], label="train (ink-weighted MSE)")
    ax.plot(epochs, [h["val_weighted_mse"] for h in history], label="held-out (ink-weighted)")
    ax.plot(epochs, [h["val_mse"] for h in history], label="held-out (plain MSE)")
    ax.set(xlabel="epoch", ylabel="loss", yscale="log", title="auto-encoder")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@torch.no_grad()
def _plot_reconstructions(
    model: ConvAE, data: RenderSet, idx: np.ndarray, device: torch.device, path: Path
) -> None:
    """Each original above its reconstruction, four pairs a row, with a grey gutter, as a PNG."""
    import cv2

    x = data.batch(idx).to(device)
    recon = model(x)[0].cpu().numpy()
    pad = lambda im: np.pad(im, ((2, 2), (2, 2), (0, 0)), constant_values=0.5)  # noqa: E731
    tiles = [
        np.concatenate([pad(a), pad(b)], axis=0)
        for a, b in zip(
            x.cpu().numpy().transpose(0, 2, 3, 1), recon.transpose(0, 2, 3, 1), strict=True
        )
    ]
    tiles += [np.full_like(tiles[0], 0.5)] * (-len(tiles) % 4)
    rows = [np.concatenate(tiles[i : i + 4], axis=1) for i in range(0, len(tiles), 4)]
    grid = (np.concatenate(rows, axis=0) * 255).round().astype(np.uint8)
    cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
