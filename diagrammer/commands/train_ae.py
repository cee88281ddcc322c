"""`diagrammer train ae`: the auto-encoder behind the embeddings, on rendered synthetic diagrams."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from diagrammer.errors import UserError

# models/ at the repository root; computed here so --help does not import torch.
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"

HELP = "train the diagram auto-encoder (embeddings for per-user kNN) on synthetic renders"


def add_arguments(parser: argparse.ArgumentParser) -> None:

    parser.add_argument("--out", type=Path, default=MODELS_DIR / "ae", help="weights folder")
    parser.add_argument("--report", type=Path, default=Path("out/train_ae"), help="log, plots")
    parser.add_argument("--images", type=int, default=2000, help="synthetic diagrams to render")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")
    parser.add_argument(
        "--stats-only",
        action="store_true",
        help="keep the trained network in --out; refit only the embedding's block scaling",
    )


def run(args: argparse.Namespace) -> int:
    if min(args.images, args.epochs, args.batch_size, args.threads) < 1 or args.lr <= 0:
        raise UserError("--images, --epochs, --batch-size, --threads and --lr must be positive")
    if args.images < 10:
        raise UserError("--images must be at least 10 (one tenth is held out)")
    from training.train_ae import AeConfig, refit_stats, train

    cfg = AeConfig(
        out=args.out,
        n_images=args.images,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        device=None if args.device == "auto" else args.device,
        threads=args.threads,
    )
    log = lambda line: print(line, file=sys.stderr)  # noqa: E731
    if args.stats_only:
        print(json.dumps(refit_stats(cfg, log), indent=2))
        return 0
    report = train(cfg, args.report, log)
    print(json.dumps({k: report[k] for k in ("device", "minutes", "held_out")}, indent=2))
    return 0
