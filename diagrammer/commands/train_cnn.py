"""`diagrammer train cnn`: the CNN readability model, on synthetic good and degraded diagrams."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from diagrammer.config_options import add_config_options, config_from
from diagrammer.errors import UserError
from training.config import CnnConfig

HELP = "train the CNN readability model on synthetic diagrams and their degraded twins"


HELPS = {
    "out": "weights folder",
    "n_clean": "clean synthetic diagrams",
    "variants": "degraded twins per clean one (6: one per kind)",
    "lr": "learning rate",
    "device": "auto, cpu, cuda",
    "threads": "CPU threads for torch",
    "held_out": "share of the clean diagrams (with their twins) kept out",
    "width": "channels of the first conv",
    "levels": "stride-2 conv levels",
    "rank_weight": "weight of the pairwise ranking loss",
    "workers": "processes rendering the data (0: one per CPU)",
    "test_clean": "fresh test set size",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_options(parser, CnnConfig, HELPS, skip=("size",), flags={"n_clean": "--clean"})
    parser.add_argument(
        "--size", default="250x150", help="input WIDTHxHEIGHT, the canvas' 5:3 (e.g. 250x150)"
    )
    parser.add_argument("--report", type=Path, default=Path("out/train_cnn"), help="log, plots")


def run(args: argparse.Namespace) -> int:
    counts = (args.n_clean, args.epochs, args.batch_size, args.threads, args.width)
    if min(counts) < 1 or args.lr <= 0:
        raise UserError(
            "--clean, --epochs, --batch-size, --threads, --width and --lr must be positive"
        )
    if args.n_clean < 10 or args.variants < 0 or args.test_clean < 1:
        raise UserError("--clean must be at least 10, --variants at least 0, --test-clean 1")
    if not 1 <= args.levels <= 7 or args.workers < 0 or args.rank_weight < 0:
        raise UserError("--levels must be 1..7, --workers and --rank-weight not negative")
    if not 0 < args.held_out < 1:
        raise UserError("--held-out must be between 0 and 1")
    size = _size(args.size)
    from training.train_cnn import table, train

    cfg = config_from(args, CnnConfig, size=size)
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
