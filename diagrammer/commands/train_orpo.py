"""`diagrammer train orpo`: preference-tune a copy of the current LoRA adapter on rated pairs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from diagrammer.config_options import add_config_options, config_from
from diagrammer.errors import UserError
from training.config import OrpoConfig

HELP = "ORPO: tune a copy of an adapter on preference pairs (prompt/chosen/rejected JSON lines)"
HELPS = {
    "pairs": "JSON-lines preference pairs",
    "out": "folder for adapter, log, plot",
    "base": "base model: default, .gguf, folder, id",
    "beta": "weight of the odds-ratio term",
    "lr": "peak learning rate",
    "max_steps": "optimizer steps (instead of --epochs)",
    "batch_size": "pairs per optimizer step",
    "micro_batch": "pairs per forward pass",
    "max_len": "tokens a pair's answer is cut at",
    "warmup": "warm-up steps",
    "rank": "rank of a fresh LoRA (alpha = 2 x rank; a continued adapter keeps its own)",
    "dropout": "dropout of a fresh LoRA",
    "gradient_checkpointing": "less memory, more time",
    "margin_pairs": "pairs the before / after log odds are measured on",
    "device": "auto, cpu, cuda",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_options(parser, OrpoConfig, HELPS, skip=("base_adapter", "alpha"))
    parser.add_argument(
        "--base-adapter",
        default="latest",
        help="adapter to start from: a folder, a shipped version (v1), latest, or none",
    )


def adapter_folder(name: str) -> Path | None:
    """The adapter to continue: a folder, a shipped version, the latest one; None for none."""
    from engine.llm.load import adapter_dir, latest_adapter

    if name == "none":
        return None
    if name == "latest":
        name = latest_adapter() or ""
        if not name:
            raise UserError("no shipped adapter under models/adapters: pass --base-adapter")
    for folder in (Path(name), adapter_dir(name)):
        if (folder / "adapter_config.json").is_file():
            return folder
    raise UserError(f"no adapter at {name} (a folder with adapter_config.json or a version)")


def run(args: argparse.Namespace) -> int:
    if not args.pairs.is_file():
        raise UserError(f"no such pairs file: {args.pairs}")
    if min(args.lr, args.epochs, args.batch_size, args.micro_batch) <= 0 or args.beta < 0:
        raise UserError("--lr, --epochs, --batch-size and --micro-batch must be positive")
    from training.orpo import train

    cfg = config_from(
        args, OrpoConfig, base_adapter=adapter_folder(args.base_adapter), alpha=2 * args.rank
    )
    try:
        summary = train(cfg)
    except ValueError as e:  # no usable pairs in the file
        raise UserError(str(e)) from e
    print(json.dumps(summary, indent=2))
    return 0
