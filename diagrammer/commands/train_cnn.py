"""`diagrammer train cnn`: the CNN readability model, on synthetic good and degraded diagrams."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from diagrammer.errors import UserError

# models/ at the repository root; computed here so --help does not import torch.
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"

HELP = "train the CNN readability model on synthetic diagrams and their degraded twins"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=MODELS_DIR / "cnn", help="weights folder")
    parser.add_argument("--report", type=Path, default=Path("out/train_cnn"), help="log, plots")
    parser.add_argument("--clean", type=int, default=10_000, help="clean synthetic diagrams")
    parser.add_argument(
        "--variants", type=int, default=6, help="degraded twins per clean one (6: one per kind)"
    )
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--width", type=int, default=32, help="channels of the first conv")
    parser.add_argument("--levels", type=int, default=5, help="stride-2 conv levels")
    parser.add_argument(
        "--size", default="250x150", help="input WIDTHxHEIGHT, the canvas' 5:3 (e.g. 250x150)"
    )
    parser.add_argument(
        "--rank-weight", type=float, default=0.0, help="weight of the pairwise ranking loss"
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="processes rendering the data (0: one per CPU)"
    )
    parser.add_argument("--test-clean", type=int, default=150, help="fresh test set size")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")


def run(args: argparse.Namespace) -> int:
    if min(args.clean, args.epochs, args.batch_size, args.threads, args.width) < 1 or args.lr <= 0:
        raise UserError(
            "--clean, --epochs, --batch-size, --threads, --width and --lr must be positive"
        )
    if args.clean < 10 or args.variants < 0 or args.test_clean < 1:
        raise UserError("--clean must be at least 10, --variants at least 0, --test-clean 1")
    if not 1 <= args.levels <= 7 or args.workers < 0 or args.rank_weight < 0:
        raise UserError("--levels must be 1..7, --workers and --rank-weight not negative")
    size = _size(args.size)
    from training.train_cnn import CnnConfig, table, train

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
        width=args.width,
        size=size,
        levels=args.levels,
        rank_weight=args.rank_weight,
        workers=args.workers or os.cpu_count() or 1,
        test_clean=args.test_clean,
    )
    report = train(cfg, args.report, log=lambda line: print(line, file=sys.stderr))
    summary = {k: report[k] for k in ("device", "parameters", "minutes", "render_minutes")}
    print(json.dumps({**summary, "held_out": report["held_out"]}, indent=2))
    print(table(report["test"]))
    return 0


def _size(text: str) -> tuple[int, int]:
    """'250x150' -> (250, 150), if it keeps the canvas' aspect ratio."""
    from engine.scoring.preprocess import check_size

    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise UserError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 250x150")
    try:
        return check_size((int(parts[0]), int(parts[1])))
    except ValueError as e:
        raise UserError(f"--size {text!r}: {e}") from None
