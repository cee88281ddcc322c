"""Train the auto-encoder (engine/scoring/autoencoder.py) on rendered synthetic diagrams.

`diagrammer train ae` calls train(). Data: clean synthetic answers in every style the data
generator knows (training/data), rendered and preprocessed once; 10% are held out. The loss is
the ink-weighted MSE; the report gives the plain and weighted reconstruction error on the
held-out renders, a PNG of originals vs reconstructions and the loss curve.

finetune() is the engine's re-training (the `embeddings` job): it continues training the
auto-encoder in use on the diagrams the engine served, mixed with fresh synthetic renders so
that it keeps knowing the kinds nobody asked for yet, and measures the old and the new network
on held-out served images.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from engine.device import pick_device
from engine.diagram.model import Diagram
from engine.diagram.render import render_array
from engine.scoring import autoencoder, descriptors, weights
from engine.scoring.autoencoder import ConvAE, Embedder, ink_weighted_mse
from engine.scoring.preprocess import INPUT_H, INPUT_W, to_input
from training.config import AeConfig
from training.data.synth import examples

Log = Callable[[str], None]


@dataclass
class RenderSet:
    """Rendered diagrams, kept small: preprocessed inputs as uint8, plus their descriptors."""

    inputs: np.ndarray  # N x 3 x H x W uint8 (to_input * 255, exactly)
    descriptors: np.ndarray  # N x descriptors.SIZE float32

    def batch(self, idx: np.ndarray | Sequence[int]) -> torch.Tensor:
        return torch.from_numpy(self.inputs[idx].astype(np.float32) / 255.0)

    @classmethod
    def of(cls, images: Iterable[np.ndarray]) -> RenderSet:
        """From HxWx3 uint8 RGB renders."""
        inputs, descs = [], []
        for image in images:
            small = to_input(image)
            inputs.append(np.round(small * 255).astype(np.uint8))
            descs.append(descriptors.describe(image, small))
        if not inputs:
            empty = np.zeros((0, 3, INPUT_H, INPUT_W), np.uint8)
            return cls(empty, np.zeros((0, descriptors.SIZE), np.float32))
        return cls(np.stack(inputs), np.stack(descs))

    @classmethod
    def concat(cls, *sets: RenderSet) -> RenderSet:
        return cls(
            np.concatenate([s.inputs for s in sets]),
            np.concatenate([s.descriptors for s in sets]),
        )


def render_set(diagrams: Sequence[Diagram], progress: bool = True) -> RenderSet:
    bar = tqdm(diagrams, desc="render", unit="img", disable=not progress, leave=False)
    return RenderSet.of(render_array(d) for d in bar)


def read_png(path: Path) -> np.ndarray:
    """A stored PNG as an HxWx3 uint8 RGB image (the renderer's channel order)."""
    image = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"not a PNG image: {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def sample_diagrams(n: int, seed: int, progress: bool = True) -> list[Diagram]:
    """n clean synthetic diagrams in varied styles (training/data's generator)."""
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
    steps = Steps(cfg.epochs, cfg.batch_size, cfg.lr, cfg.seed)
    history = fit(model, data, tr, val, steps, device, log)
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


@dataclass(frozen=True)
class Steps:
    """How fit() trains: epochs, batch size, peak learning rate (one-cycle), shuffling seed."""

    epochs: int
    batch_size: int
    lr: float
    seed: int
    progress: bool = True


def fit(
    model: ConvAE,
    data: RenderSet,
    tr: np.ndarray,
    val: np.ndarray,
    steps: Steps,
    device: torch.device,
    log: Log = print,
) -> list[dict]:
    """Train model on data[tr] with the ink-weighted MSE; per epoch, the train loss and the
    held-out errors on data[val]."""
    optimizer = torch.optim.Adam(model.parameters(), lr=steps.lr)
    per_epoch = (len(tr) + steps.batch_size - 1) // steps.batch_size
    total_steps = steps.epochs * per_epoch
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, steps.lr, total_steps=total_steps)
    history: list[dict] = []
    rng = np.random.default_rng(steps.seed + 1)
    bar = tqdm(total=total_steps, desc="train ae", unit="step", disable=not steps.progress)
    for epoch in range(steps.epochs):
        model.train()
        total = 0.0
        for idx in np.array_split(rng.permutation(tr), per_epoch):
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
    return history


@dataclass(frozen=True)
class FinetuneConfig:
    epochs: int = 3
    batch_size: int = 32
    lr: float = 5e-4  # a quarter of training's: it starts from a trained network
    synthetic: float = 1.0  # fresh synthetic renders per served training image
    max_served: int = 4000  # the newest served images trained on (all are embedded)
    max_synthetic: int = 2000
    held_out: float = 0.1  # of the served images trained on, kept out to compare old and new
    seed: int = 0
    device: str | None = None


ERROR = "val_weighted_mse"  # the number finetune() compares: the training loss, held out


def finetune(
    base: Path,
    served: Sequence[Path],
    out: Path,
    cfg: FinetuneConfig | None = None,
    log: Log = print,
) -> tuple[np.ndarray, dict]:
    """Fine-tune the auto-encoder saved in `base` on the served PNG renders (oldest first)
    mixed with fresh synthetic ones; save it (with a refitted block scaling) to `out`.

    Returns the new embedding of every served image, in order, and a report whose "old_error"
    and "new_error" are both networks' ink-weighted reconstruction errors on the same
    held-out served images. Does not set torch's thread count: the engine serves meanwhile.
    """
    if len(served) < 2:
        raise ValueError("fine-tuning needs at least 2 served images (one is held out)")
    cfg = cfg or FinetuneConfig()
    torch.manual_seed(cfg.seed)
    device = pick_device(cfg.device)
    started = time.time()
    recent = list(served[-cfg.max_served :])
    own = load_set(recent)
    order = np.random.default_rng(cfg.seed).permutation(len(recent))
    n_val = max(1, round(cfg.held_out * len(recent)))
    val, tr = order[:n_val], order[n_val:]
    n_synthetic = min(cfg.max_synthetic, round(cfg.synthetic * len(tr)))
    log(f"fine-tuning on {len(tr)} served and {n_synthetic} synthetic diagrams")
    fresh = render_set(sample_diagrams(n_synthetic, cfg.seed, progress=False), progress=False)
    data = RenderSet.concat(own, fresh)
    tr = np.concatenate([tr, len(recent) + np.arange(n_synthetic)])
    old = autoencoder.load(base, device)
    before = reconstruction_errors(old.model, data, val, device)
    model = autoencoder.load(base, device).model  # a copy: `old` stays as it was
    steps = Steps(cfg.epochs, cfg.batch_size, cfg.lr, cfg.seed, progress=False)
    history = fit(model, data, tr, val, steps, device, log)
    embedder = Embedder(model.eval(), {})
    embedder.stats = fit_stats(embedder, data, cfg.seed)
    report = {
        "served": len(recent),
        "synthetic": n_synthetic,
        "held_out": n_val,
        "old_error": before[ERROR],
        "new_error": history[-1][ERROR],
        "old": before,
        "new": {k: v for k, v in history[-1].items() if k.startswith("val_")},
        "history": history,
        "device": str(device),
        "seed": cfg.seed,
    }
    info = {k: report[k] for k in ("served", "synthetic", "old_error", "new_error", "seed")}
    autoencoder.save(embedder, out, info | {"finetuned_from": str(base)})
    older = list(served[: len(served) - len(recent)])
    vectors = np.concatenate([embed_files(embedder, older), embed_set(embedder, own)])
    report["seconds"] = round(time.time() - started, 1)
    return vectors, report


def load_set(paths: Sequence[Path]) -> RenderSet:
    """PNG renders from files (the engine's stored images), as a RenderSet."""
    return RenderSet.of(read_png(p) for p in paths)


def embed_set(embedder: Embedder, data: RenderSet) -> np.ndarray:
    """The embeddings of a RenderSet's images, as Embedder.embed would give them."""
    raw = {"latent": embedder.latents(data.inputs.astype(np.float32) / 255.0)}
    raw |= {name: data.descriptors[:, s] for name, s in descriptors.BLOCKS.items()}
    return autoencoder.combine(raw, embedder.stats)


def embed_files(embedder: Embedder, paths: Sequence[Path], chunk: int = 256) -> np.ndarray:
    """The embeddings of PNG files, a chunk at a time (memory stays small)."""
    parts = [
        embed_set(embedder, load_set(paths[i : i + chunk])) for i in range(0, len(paths), chunk)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, embedder.dim), np.float32)


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
    return {
        "val_mse": float(mse),
        "val_weighted_mse": float(weighted),
        "val_ink_mse": float(ink_mse),
    }


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
