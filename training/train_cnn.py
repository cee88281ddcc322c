"""Train the CNN readability model (engine/scoring/cnn.py) on synthetic good and bad diagrams.

`diagrammer train cnn` calls train(). Data: clean synthetic answers in varied styles
(training/data) and `variants` degraded twins of each (training/data/degrade.py: overlaps,
nodes off the canvas, crossings, cramped spacing, poor contrast, labels that do not fit; by
default one of each kind), every one labelled 5 x its geometric readability
(engine/diagram/metrics.py). Each clean diagram and its twins come from their own seeds, so
`workers` processes render them in parallel and the data does not depend on how many there
are; the renders are kept preprocessed, as uint8, in memory (on the GPU when training there).
A clean diagram and its twins stay on the same side of the train / held-out split, so
held-out scores are on diagrams the model never saw in any form. Training images are
mirrored at random (left-right, upside down), which leaves the geometric readability unchanged.

Loss: MSE on the 0..5 scale plus `rank_weight` x a pairwise logistic loss over the pairs of
a batch whose labels differ by at least RANK_GAP: the target is ranking, and MSE alone pulls
every score toward the mean.

Report (held out, and a fresh test set from another seed): MAE and RMSE on the 0..5 scale;
pairwise ranking accuracy against the label over all pairs whose labels differ by at least a
margin (a tie in the scores counts as wrong); and the share of (clean, degraded twin) pairs
where the clean one scores higher, overall and per kind of degradation.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from engine.device import pick_device
from engine.diagram.metrics import metrics
from engine.diagram.render import render_array
from engine.scoring import cnn
from engine.scoring.cnn import ReadabilityCNN
from engine.scoring.preprocess import DEFAULT_SIZE, Size, shrink
from training.config import CnnConfig
from training.data.degrade import KINDS, degrade
from training.data.synth import example

try:  # progress bars are a nicety: training runs without tqdm too
    from tqdm import tqdm
except ImportError:  # pragma: no cover - tqdm is a dependency; minimal GPU images may lack it
    tqdm = None

Log = Callable[[str], None]
PAIR_MARGIN = 0.5  # on the 0..5 scale: a tenth of the readability range
MARGINS = (0.25, 0.5, 1.0, 1.5)  # the report's pairwise accuracies
RANK_GAP = 0.25  # pairs closer than this carry no ranking loss: the label is not that exact


@dataclass
class LabelledSet:
    inputs: np.ndarray  # N x 3 x H x W uint8: preprocess.shrink, to_input before / 255
    labels: np.ndarray  # 0..5
    source: np.ndarray  # index of the clean diagram each image comes from
    kind: np.ndarray  # "clean" or the degradation (training/data/degrade.py KINDS)

    @property
    def clean(self) -> np.ndarray:
        return self.kind == "clean"


def labelled_set(
    n_clean: int,
    variants: int,
    seed: int,
    size: Size = DEFAULT_SIZE,
    workers: int = 1,
    progress: bool = True,
) -> LabelledSet:
    """Clean diagrams and `variants` degraded twins each, labelled 5 x readability."""
    per = 1 + variants
    inputs = np.empty((n_clean * per, 3, size[1], size[0]), np.uint8)
    labels = np.empty(n_clean * per, np.float32)
    kind: list[str] = []
    jobs = [(i, seed, variants, size) for i in range(n_clean)]
    for i, (x, y, k) in enumerate(_bar(_map(_source_set, jobs, workers), n_clean, progress)):
        inputs[i * per : (i + 1) * per], labels[i * per : (i + 1) * per] = x, y
        kind += k
    return LabelledSet(inputs, labels, np.repeat(np.arange(n_clean), per), np.array(kind))


def _source_set(job: tuple[int, int, int, Size]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Clean diagram `i` of `seed` and its twins: (inputs, labels, kinds), from their own seeds."""
    i, seed, variants, size = job
    clean = example(random.Random(seed * 1_000_003 + i)).diagram  # = synth.examples(n, seed)[i]
    rng = random.Random(f"degrade {seed} {i}")
    order = rng.sample(KINDS, len(KINDS))  # variants >= len(KINDS): every kind once
    kinds = [order[k % len(order)] for k in range(variants)]
    diagrams = [clean, *(degrade(clean, k, rng) for k in kinds)]
    inputs = np.stack([shrink(render_array(d), size) for d in diagrams])
    labels = np.array([cnn.SCALE * metrics(d).readability for d in diagrams], np.float32)
    return inputs, labels, ["clean", *kinds]


def _map(fn: Callable, jobs: list, workers: int) -> Iterator:
    """fn over jobs in order: in this process, or in `workers` fresh ones (spawned, not forked:
    the parent may hold CUDA or thread pools that a fork would copy half-made; so a script
    that asks for workers needs Python's `if __name__ == "__main__":` guard)."""
    if workers <= 1:
        yield from map(fn, jobs)
        return
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=_quiet_worker) as pool:
        yield from pool.imap(fn, jobs, chunksize=max(1, min(16, len(jobs) // (4 * workers))))


def _quiet_worker() -> None:
    """One thread per worker process: the processes are the parallelism."""
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def _bar(items: Iterable, total: int, show: bool, desc: str = "render") -> Iterable:
    if not show or tqdm is None:
        return items
    return tqdm(items, total=total, desc=desc, unit="diagram", leave=False)


def train(cfg: CnnConfig, report_dir: Path, log: Log = print) -> dict:
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    device = pick_device(cfg.device)
    started = time.time()
    workers = cfg.workers or os.cpu_count() or 1
    log(
        f"rendering {cfg.n_clean} clean diagrams + {cfg.variants} degraded twins each "
        f"at {cfg.size[0]}x{cfg.size[1]}, {workers} worker(s)"
    )
    data = labelled_set(cfg.n_clean, cfg.variants, cfg.seed, cfg.size, workers)
    test = labelled_set(cfg.test_clean, len(KINDS), cfg.seed + 1000, cfg.size, workers)
    rendered = time.time()
    log(f"rendered {len(data.labels) + len(test.labels)} images in {rendered - started:.0f} s")
    sources = np.random.default_rng(cfg.seed).permutation(cfg.n_clean)
    val_sources = sources[: max(1, int(cfg.held_out * cfg.n_clean))]
    is_val = np.isin(data.source, val_sources)
    val, tr = np.flatnonzero(is_val), np.flatnonzero(~is_val)
    log(f"{len(tr)} training images, {len(val)} held out; labels {_describe(data.labels)}")
    model = ReadabilityCNN(cfg.width, cfg.size, cfg.levels).to(device)
    history = fit(model, data, tr, val, cfg, device, log)
    report = {
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
        "device": str(device),
        "parameters": sum(p.numel() for p in model.parameters()),
        "minutes": round((time.time() - started) / 60, 2),
        "render_minutes": round((rendered - started) / 60, 2),
        "n_train": len(tr),
        "n_held_out": len(val),
        "held_out": history[-1],
        "history": history,
    }
    report["test"] = test_report(model.eval(), cfg.test_clean, cfg.seed + 1000, data=test)
    log(json.dumps(report["test"]))
    cnn.save(model.cpu(), cfg.out, {"trained": report["held_out"], "seed": cfg.seed})
    report_dir.mkdir(parents=True, exist_ok=True)
    _plot(history, report_dir / "cnn_loss.png")
    (report_dir / "cnn_report.json").write_text(json.dumps(report, indent=2) + "\n")
    log(f"saved {cfg.out}; report in {report_dir}")
    return report


def fit(
    model: ReadabilityCNN,
    data: LabelledSet,
    tr: np.ndarray,
    val: np.ndarray,
    cfg: CnnConfig,
    device: torch.device,
    log: Log,
) -> list[dict]:
    """Adam with a one-cycle learning rate; bf16 autocast on a GPU. The uint8 inputs move to the
    device once (a few GB), so batches never wait for the host."""
    on_gpu = device.type == "cuda"
    if on_gpu:
        torch.backends.cudnn.benchmark = True
        model = model.to(memory_format=torch.channels_last)
    inputs = torch.from_numpy(data.inputs).to(device)
    labels = torch.from_numpy(data.labels).to(device)
    train_idx = torch.from_numpy(tr).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    per_epoch = max(1, len(tr) // cfg.batch_size)  # full batches only: batch norm needs peers
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, cfg.lr, total_steps=cfg.epochs * per_epoch
    )
    generator = torch.Generator(device).manual_seed(cfg.seed + 1)
    history: list[dict] = []
    bar = tqdm(total=cfg.epochs * per_epoch, desc="train cnn", unit="step") if tqdm else None
    for epoch in range(cfg.epochs):
        model.train()
        total = torch.zeros((), device=device)
        order = train_idx[torch.randperm(len(tr), device=device, generator=generator)]
        for idx in order[: per_epoch * cfg.batch_size].view(per_epoch, -1):
            x = _mirrored(inputs[idx].float() / 255.0, generator)
            if on_gpu:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=on_gpu):
                pred = model(x).float()
            mse = torch.nn.functional.mse_loss(pred, labels[idx])
            loss = mse
            if cfg.rank_weight:
                loss = loss + cfg.rank_weight * ranking_loss(pred, labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += mse.detach()
            if bar is not None:
                bar.update()
        pred = predict(model, inputs[torch.from_numpy(val).to(device)])
        scores = evaluate(pred, data, val)
        history.append({"epoch": epoch + 1, "train_mse": float(total) / per_epoch, **scores})
        log(json.dumps({k: round(v, 4) for k, v in history[-1].items()}))
    if bar is not None:
        bar.close()
    return history


def ranking_loss(
    pred: torch.Tensor, label: torch.Tensor, min_gap: float = RANK_GAP
) -> torch.Tensor:
    """RankNet's logistic loss over the batch's pairs whose labels differ by >= min_gap: near 0
    once the higher-labelled one scores clearly (about a point) higher."""
    higher = (label[:, None] - label[None, :]) >= min_gap
    diff = (pred[:, None] - pred[None, :])[higher]
    return torch.nn.functional.softplus(-4.0 * diff).mean() if len(diff) else pred.sum() * 0.0


def _mirrored(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image mirrored left-right and/or upside down at random: readability does not change."""
    flips = torch.rand(2, len(x), 1, 1, 1, device=x.device, generator=generator) < 0.5
    x = torch.where(flips[0], x.flip(3), x)
    return torch.where(flips[1], x.flip(2), x)


@torch.no_grad()
def predict(model: ReadabilityCNN, inputs: torch.Tensor | np.ndarray) -> np.ndarray:
    """Scores of N x 3 x H x W uint8 inputs (LabelledSet.inputs), in float32 as scoring does
    (uint8 / 255 is the same float whether numpy or torch divides)."""
    model.eval()
    inputs, device = torch.as_tensor(inputs), next(model.parameters()).device
    out = [
        model(inputs[i : i + 512].to(device).float() / 255.0).cpu().numpy()
        for i in range(0, len(inputs), 512)
    ]
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def evaluate(pred: np.ndarray, data: LabelledSet, idx: np.ndarray) -> dict[str, float]:
    """MAE, RMSE, pairwise accuracy and clean over twin of the scores `pred` of data[idx]."""
    label = data.labels[idx]
    err = pred - label
    return {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "pairwise_accuracy": pairwise_accuracy(pred, label, PAIR_MARGIN),
        "pairwise_accuracy_any_gap": pairwise_accuracy(pred, label, 1e-6),
        **clean_over_twins(pred, label, data.source[idx], data.clean[idx]),
    }


def test_report(
    model: ReadabilityCNN,
    n_clean: int,
    seed: int,
    workers: int = 1,
    data: LabelledSet | None = None,
) -> dict:
    """evaluate() on a fresh set (its own seed, never trained on; rendered here unless given),
    with pairwise accuracy at each of MARGINS, and per kind: clean_over_twin and the mean
    label and score."""
    if data is None:
        data = labelled_set(n_clean, len(KINDS), seed, model.input_size, workers, progress=False)
    pred = predict(model, data.inputs)
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
    margins = {str(m): round(pairwise_accuracy(pred, data.labels, m), 4) for m in MARGINS}
    return {
        "n_clean": n_clean,
        "seed": seed,
        **evaluate(pred, data, np.arange(len(data.labels))),
        "pairwise_by_margin": margins,
        "per_kind": per_kind,
    }


def pairwise_accuracy(pred: np.ndarray, label: np.ndarray, margin: float) -> float:
    """Share of all pairs with label gap >= margin that the prediction orders the same way,
    strictly (equal scores count as wrong). Exact: every pair, counted once."""
    agree = pairs = 0
    for start in range(0, len(pred), 1024):
        rows = slice(start, start + 1024)
        higher = (label[rows, None] - label[None, :]) >= margin  # row's label is the higher one
        agree += int((higher & (pred[rows, None] > pred[None, :])).sum())
        pairs += int(higher.sum())
    return agree / pairs if pairs else float("nan")


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


def table(test: dict) -> str:
    """The fresh test set's scores as the model card's markdown table."""
    margins = test["pairwise_by_margin"]
    lines = [
        f"fresh test set: {test['n_clean']} clean diagrams x 7, seed {test['seed']}",
        "",
        "| MAE | RMSE | "
        + " | ".join(f"pairwise, margin {m}" for m in margins)
        + " | clean over twin |",
        "|---" * (3 + len(margins)) + "|",
        f"| {test['mae']:.3f} | {test['rmse']:.3f} | "
        + " | ".join(f"{v:.1%}" for v in margins.values())
        + f" | {test['clean_over_twin']:.1%} ({test['twin_pairs']} pairs) |",
        "",
        "| kind | clean over twin | pairs | mean label | mean score |",
        "|---|---|---|---|---|",
    ]
    for kind, v in test["per_kind"].items():
        won = "" if v["clean_over_twin"] is None else f"{v['clean_over_twin']:.1%}"
        lines.append(
            f"| {kind} | {won} | {v['twin_pairs'] or ''} | {v['mean_label']} | {v['mean_score']} |"
        )
    return "\n".join(lines)


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
