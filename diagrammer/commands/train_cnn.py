"""`diagrammer train cnn`: the CNN readability model, on synthetic good and degraded diagrams."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from diagrammer.errors import UserError

# models/ at the repository root; computed here so --help does not import torch.
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"

HELP = "train the CNN readability model on synthetic diagrams and their degraded twins"


def add_arguments(parser: argparse.ArgumentParser) -> None:

    parser.add_argument("--out", type=Path, default=MODELS_DIR / "cnn", help="weights folder")
    parser.add_argument("--report", type=Path, default=Path("out/train_cnn"), help="log, plots")
    parser.add_argument("--clean", type=int, default=1500, help="clean synthetic diagrams")
    parser.add_argument(
        "--variants", type=int, default=6, help="degraded twins per clean one (6: one per kind)"
    )
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")


def run(args: argparse.Namespace) -> int:
    if min(args.clean, args.epochs, args.batch_size, args.threads) < 1 or args.lr <= 0:
        raise UserError("--clean, --epochs, --batch-size, --threads and --lr must be positive")
    if args.clean < 10 or args.variants < 0:
        raise UserError("--clean must be at least 10 and --variants at least 0")
    from training.train_cnn import CnnConfig, train

    cfg = CnnConfig(
        out=args.out,
        n_clean=args.clean,
        variants=args.variants,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        device=None if args.device == "auto" else args.device,
        threads=args.threads,
    )
    report = train(cfg, args.report, log=lambda line: print(line, file=sys.stderr))
    print(json.dumps({k: report[k] for k in ("device", "minutes", "held_out", "test")}, indent=2))
    return 0
