"""`diagrammer train sft`: LoRA fine-tuning on synthetic request -> sketch data."""

from __future__ import annotations

import argparse
import json

from diagrammer.config_options import add_config_options, config_from
from diagrammer.errors import UserError
from training.config import SftConfig

HELP = "fine-tune a LoRA adapter (request -> sketch) on a data file from `diagrammer data sft`"
HELPS = {
    "data": "JSON-lines training data",
    "out": "folder for adapter, log, plot (and checkpoints/ to resume from)",
    "base": "base model: default, .gguf, folder, id",
    "max_steps": "optimizer steps (instead of --epochs)",
    "lr": "peak learning rate",
    "rank": "LoRA rank (alpha = 2 x rank)",
    "dropout": "LoRA dropout",
    "warmup": "warm-up steps",
    "max_len": "tokens an example is cut at",
    "hint_dropout": "share of examples trained without the readers' hint",
    "val_size": "examples held out for the validation loss",
    "checkpoint_every": "steps between validation and checkpoint",
    "stop_after": "end this session after this step (checkpointed; resume later)",
    "time_limit": "seconds; stop early (checkpointed)",
    "device": "auto, cpu, cuda",
    "resume": "continue from OUT/checkpoints",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_options(parser, SftConfig, HELPS, skip=("alpha",))


def run(args: argparse.Namespace) -> int:
    if not args.data.is_file():
        raise UserError(f"no such data file: {args.data}")
    if args.rank < 1 or args.batch_size < 1 or args.lr <= 0 or args.epochs <= 0:
        raise UserError("--rank, --batch-size, --lr and --epochs must be positive")
    try:
        from training.sft import train
    except ModuleNotFoundError as e:  # trl / datasets: the `train` extra
        raise UserError(f"training needs the train extra: pip install -e '.[train]' ({e})") from e
    print(json.dumps(train(config_from(args, SftConfig, alpha=2 * args.rank)), indent=2))
    return 0
