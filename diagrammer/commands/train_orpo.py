"""`diagrammer train orpo`: preference-tune a copy of the current LoRA adapter on rated pairs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from diagrammer.errors import UserError

HELP = "ORPO: tune a copy of an adapter on preference pairs (prompt/chosen/rejected JSON lines)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pairs", type=Path, required=True, help="JSON-lines preference pairs")
    parser.add_argument("--out", type=Path, required=True, help="folder for adapter, log, plot")
    parser.add_argument(
        "--base-adapter",
        default="latest",
        help="adapter to start from: a folder, a shipped version (v1), latest, or none",
    )
    parser.add_argument("--base", default="default", help="base model: default, .gguf, folder, id")
    parser.add_argument("--beta", type=float, default=0.1, help="weight of the odds-ratio term")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=16, help="pairs per optimizer step")
    parser.add_argument("--micro-batch", type=int, default=8, help="pairs per forward pass")
    parser.add_argument("--gradient-checkpointing", action="store_true", help="less memory")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")


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
    from training.orpo import OrpoConfig, train

    cfg = OrpoConfig(
        pairs=args.pairs,
        out=args.out,
        base_adapter=adapter_folder(args.base_adapter),
        base=args.base,
        beta=args.beta,
        lr=args.lr,
        epochs=args.epochs,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        micro_batch=args.micro_batch,
        gradient_checkpointing=args.gradient_checkpointing,
        seed=args.seed,
        device=args.device,
    )
    try:
        summary = train(cfg)
    except ValueError as e:  # no usable pairs in the file
        raise UserError(str(e)) from e
    print(json.dumps(summary, indent=2))
    return 0
