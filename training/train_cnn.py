"""Train the CNN readability model (engine/scoring/cnn.py) on synthetic good and bad diagrams.

`diagrammer train cnn` calls train(). Data: clean synthetic answers in varied styles
(training/data) and `variants` degraded twins of each (training/data/degrade.py: overlaps,
nodes off the canvas, crossings, cramped spacing, poor contrast, labels that do not fit; by
default one of each kind), every one labelled
5 x its geometric readability (engine/diagram/metrics.py). A clean diagram and its twins
stay on the same side of the train / held-out split, so held-out scores are on diagrams the
model never saw in any form. Training batches are mirrored at random (left-right, upside
down), which leaves the geometric readability unchanged.

Held-out report: MAE and RMSE on the 0..5 scale; pairwise ranking accuracy against the label
over random pairs whose labels differ by at least PAIR_MARGIN (and for reference by any
amount); and the share of (clean, degraded twin) pairs where the clean one scores higher.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from engine.diagram.metrics import metrics
from engine.diagram.model import Diagram
from engine.scoring import cnn
from engine.scoring.cnn import ReadabilityCNN
from engine.scoring.weights import pick_device
from training.data.degrade import KINDS, degrade
from training.train_ae import RenderSet, render_set, sample_diagrams

Log = Callable[[str], None]
PAIR_MARGIN = 0.5  # on the 0..5 scale: a tenth of the readability range


@dataclass(frozen=True)
class CnnConfig:
    out: Path = cnn.DEFAULT_DIR
    n_clean: int = 1500
    variants: int = 6
    epochs: int = 25
    batch_size: int = 64
    lr: float = 3e-3
    seed: int = 0
    device: str | None = None
    threads: int = 2
    held_out: float = 0.15


@dataclass
class LabelledSet:
    images: RenderSet
    labels: np.ndarray  # 0..5
    source: np.ndarray  # index of the clean diagram each image comes from
    kind: np.ndarray  # "clean" or the degradation (training/data/degrade.py KINDS)

    @property
    def clean(self) -> np.ndarray:
        return self.kind == "clean"


def labelled_set(n_clean: int, variants: int, seed: int, progress: bool = True) -> LabelledSet:
    """Clean diagrams and `variants` degraded twins each, labelled 5 x readability."""
    rng = random.Random(seed + 7)
    diagrams: list[Diagram] = []
    source, kind = [], []
    for i, d in enumerate(sample_diagrams(n_clean, seed, progress)):
        order = rng.sample(KINDS, len(KINDS))  # variants >= len(KINDS): every kind once
        kinds = [order[k % len(order)] for k in range(variants)]
        diagrams += [d, *(degrade(d, k, rng) for k in kinds)]
        source += [i] * (1 + variants)
        kind += ["clean", *kinds]
    labels = np.array([cnn.SCALE * metrics(d).readability for d in diagrams], np.float32)
    return LabelledSet(render_set(diagrams, progress), labels, np.array(source), np.array(kind))


def train(cfg: CnnConfig, report_dir: Path, log: Log = print) -> dict:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)
    started = time.time()
    log(f"rendering {cfg.n_clean} clean diagrams + {cfg.variants} degraded twins each")
    data = labelled_set(cfg.n_clean, cfg.variants, cfg.seed)
    sources = np.random.default_rng(cfg.seed).permutation(cfg.n_clean)
    val_sources = sources[: max(1, int(cfg.held_out * cfg.n_clean))]
    is_val = np.isin(data.source, val_sources)
    val, tr = np.flatnonzero(is_val), np.flatnonzero(~is_val)
    log(f"{len(tr)} training images, {len(val)} held out; labels {_describe(data.labels)}")
    model = ReadabilityCNN().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    per_epoch = (len(tr) + cfg.batch_size - 1) // cfg.batch_size
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, cfg.lr, total_steps=cfg.epochs * per_epoch
    )
    labels = torch.from_numpy(data.labels)
    rng = np.random.default_rng(cfg.seed + 1)
    history: list[dict] = []
    bar = tqdm(total=cfg.epochs * per_epoch, desc="train cnn", unit="step")
    for epoch in range(cfg.epochs):
        model.train()
        total = 0.0
        for idx in np.array_split(rng.permutation(tr), per_epoch):
            pred = model(_flipped(data.images.batch(idx), rng).to(device))
            loss = torch.nn.functional.mse_loss(pred, labels[idx].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item() * len(idx)
            bar.update()
            bar.set_postfix(loss=f"{loss.item():.3f}")
        scores = evaluate(model, data, val)
        history.append({"epoch": epoch + 1, "train_mse": total / len(tr), **scores})
        log(json.dumps(history[-1]))
    bar.close()
    report = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "device": str(device),
        "minutes": round((time.time() - started) / 60, 2),
        "n_train": len(tr),
        "n_held_out": len(val),
        "held_out": history[-1],
        "history": history,
    }
    log(f"testing on {max(10, cfg.n_clean // 5)} fresh clean diagrams (seed {cfg.seed + 1000})")
    report["test"] = test_report(model.eval(), max(10, cfg.n_clean // 5), cfg.seed + 1000)
    log(json.dumps(report["test"]))
    cnn.save(model.cpu(), cfg.out, {"trained": report["held_out"], "seed": cfg.seed})
    report_dir.mkdir(parents=True, exist_ok=True)
    _plot(history, report_dir / "cnn_loss.png")
    (report_dir / "cnn_report.json").write_text(json.dumps(report, indent=2) + "\n")
    log(f"saved {cfg.out}; report in {report_dir}")
    return report


def _flipped(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Mirror the batch left-right and/or upside down: readability does not change."""
    dims = [d for d, flip in ((3, rng.random() < 0.5), (2, rng.random() < 0.5)) if flip]
    return torch.flip(x, dims) if dims else x


def evaluate(model: ReadabilityCNN, data: LabelledSet, idx: np.ndarray) -> dict[str, float]:
    pred = cnn.score_batch(model, data.images.inputs[idx].astype(np.float32) / 255.0)
    label = data.labels[idx]
    err = pred - label
    return {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "pairwise_accuracy": pairwise_accuracy(pred, label, PAIR_MARGIN),
        "pairwise_accuracy_any_gap": pairwise_accuracy(pred, label, 1e-6),
        **clean_over_twins(pred, label, data.source[idx], data.clean[idx]),
    }


def test_report(model: ReadabilityCNN, n_clean: int, seed: int) -> dict:
    """evaluate() on a fresh set (its own seed, never trained on), overall and per kind:
    clean_over_twin per degradation kind, and the mean label and score of each kind."""
    data = labelled_set(n_clean, len(KINDS), seed, progress=False)
    idx = np.arange(len(data.labels))
    pred = cnn.score_batch(model, data.images.inputs.astype(np.float32) / 255.0)
    per_kind = {}
    for kind in ("clean", *KINDS):
        keep = (data.kind == kind) | data.clean
        twins = clean_over_twins(pred[keep], data.labels[keep], data.source[keep], data.clean[keep])
        is_kind = data.kind == kind
        per_kind[kind] = {
            "mean_label": round(float(data.labels[is_kind].mean()), 2),
            "mean_score": round(float(pred[is_kind].mean()), 2),
            "clean_over_twin": None if kind == "clean" else round(twins["clean_over_twin"], 3),
            "twin_pairs": None if kind == "clean" else twins["twin_pairs"],
        }
    return {"n_clean": n_clean, "seed": seed, **evaluate(model, data, idx), "per_kind": per_kind}


def pairwise_accuracy(
    pred: np.ndarray, label: np.ndarray, margin: float, n_pairs: int = 50_000, seed: int = 0
) -> float:
    """Share of random pairs with |label gap| >= margin that the prediction orders the same way."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, len(pred), (2, n_pairs))
    keep = np.abs(label[a] - label[b]) >= margin
    if not keep.any():
        return float("nan")
    agree = np.sign(pred[a] - pred[b]) == np.sign(label[a] - label[b])
    return float(agree[keep].mean())


def clean_over_twins(
    pred: np.ndarray, label: np.ndarray, source: np.ndarray, clean: np.ndarray
) -> dict[str, float]:
    """Share of (clean, degraded twin) pairs where the clean one scores higher: over twins whose
    label is lower by at least PAIR_MARGIN, and over all twins whose label is lower at all."""
    wins: dict[str, list[bool]] = {"clean_over_twin": [], "clean_over_twin_any_gap": []}
    where = {s: i for i, s in enumerate(source) if clean[i]}
    for i in np.flatnonzero(~clean):
        c = where.get(source[i])
        if c is None or label[i] >= label[c]:
            continue
        wins["clean_over_twin_any_gap"].append(bool(pred[c] > pred[i]))
        if label[c] - label[i] >= PAIR_MARGIN:
            wins["clean_over_twin"].append(bool(pred[c] > pred[i]))
    out = {k: float(np.mean(v)) if v else float("nan") for k, v in wins.items()}
    out["twin_pairs"] = len(wins["clean_over_twin"])
    return out


def _describe(labels: Sequence[float]) -> str:
    q = np.percentile(labels, [0, 25, 50, 75, 100])
    return "min/q1/median/q3/max " + "/".join(f"{v:.2f}" for v in q)


def _plot(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax.plot(epochs, [h["train_mse"] for h in history], label="train MSE")
    ax.plot(epochs, [h["rmse"] ** 2 for h in history], label="held-out MSE")
    ax.plot(epochs, [h["mae"] for h in history], label="held-out MAE")
    ax.set(xlabel="epoch", ylabel="0..5 scale", yscale="log", title="CNN readability: error")
    ax.legend()
    ax2.plot(
        epochs, [h["pairwise_accuracy"] for h in history], label=f"pairs, gap >= {PAIR_MARGIN}"
    )
    ax2.plot(epochs, [h["clean_over_twin"] for h in history], label="clean over twin")
    ax2.set(xlabel="epoch", ylabel="share", title="held-out ranking", ylim=(0.5, 1.0))
    ax2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
