"""`diagrammer train sft`: LoRA fine-tuning on synthetic request -> sketch data."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from diagrammer.errors import UserError

HELP = "fine-tune a LoRA adapter (request -> sketch) on a data file from `diagrammer data sft`"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="JSON-lines training data")
    parser.add_argument("--out", type=Path, required=True, help="folder for adapter, log, plot")
    parser.add_argument("--base", default="default", help="base model: default, .gguf, folder, id")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--rank", type=int, default=16, help="LoRA rank (alpha = 2 x rank)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--hint-dropout", type=float, default=0.1)
    parser.add_argument("--checkpoint-every", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=None, help="seconds; stop early")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")


def run(args: argparse.Namespace) -> int:
    try:
        from training.sft import SftConfig, train
    except ModuleNotFoundError as e:  # trl / datasets: the `train` extra
        raise UserError(f"training needs the train extra: pip install -e '.[train]' ({e})") from e

    if not args.data.is_file():
        raise UserError(f"no such data file: {args.data}")
    if args.rank < 1 or args.batch_size < 1 or args.lr <= 0 or args.epochs <= 0:
        raise UserError("--rank, --batch-size, --lr and --epochs must be positive")
    cfg = SftConfig(
        data=args.data,
        out=args.out,
        base=args.base,
        epochs=args.epochs,
        max_steps=args.max_steps,
        lr=args.lr,
        rank=args.rank,
        alpha=2 * args.rank,
        batch_size=args.batch_size,
        hint_dropout=args.hint_dropout,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
        time_limit=args.time_limit,
        device=args.device,
        resume=args.resume,
    )
    print(json.dumps(train(cfg), indent=2))
    return 0
