"""`diagrammer train ae`: the auto-encoder behind the embeddings, on rendered synthetic diagrams."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from diagrammer.config_options import add_config_options, config_from
from diagrammer.errors import UserError
from training.config import AeConfig

HELP = "train the diagram auto-encoder (embeddings for per-user kNN) on synthetic renders"


HELPS = {
    "out": "weights folder",
    "n_images": "synthetic diagrams to render",
    "lr": "learning rate",
    "device": "auto, cpu, cuda",
    "threads": "CPU threads for torch",
    "held_out": "share of the images kept out to measure the error",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_options(parser, AeConfig, HELPS, flags={"n_images": "--images"})
    parser.add_argument("--report", type=Path, default=Path("out/train_ae"), help="log, plots")
    parser.add_argument(
        "--stats-only",
        action="store_true",
        help="keep the trained network in --out; refit only the embedding's block scaling",
    )


def run(args: argparse.Namespace) -> int:
    if min(args.n_images, args.epochs, args.batch_size, args.threads) < 1 or args.lr <= 0:
        raise UserError("--images, --epochs, --batch-size, --threads and --lr must be positive")
    if args.n_images < 10:
        raise UserError("--images must be at least 10 (one tenth is held out)")
    if not 0 < args.held_out < 1:
        raise UserError("--held-out must be between 0 and 1")
    from training.train_ae import refit_stats, train

    cfg = config_from(args, AeConfig)
    log = lambda line: print(line, file=sys.stderr)  # noqa: E731
    if args.stats_only:
        print(json.dumps(refit_stats(cfg, log), indent=2))
        return 0
    report = train(cfg, args.report, log)
    print(json.dumps({k: report[k] for k in ("device", "minutes", "held_out")}, indent=2))
    return 0
