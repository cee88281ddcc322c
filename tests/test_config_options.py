"""Options made from a config dataclass: names, types, defaults and required fields come from
the dataclass, and the command line's values make the config."""

import argparse
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from diagrammer.cli import build_parser
from diagrammer.config_options import add_config_options, config_from
from training.config import AeConfig, CnnConfig, OrpoConfig, SftConfig


def parser_for(config, **kw) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_config_options(parser, config, **kw)
    return parser


def test_defaults_are_the_dataclass_defaults():
    args = parser_for(SftConfig).parse_args(["--data", "d.jsonl", "--out", "o"])
    cfg = config_from(args, SftConfig)
    assert cfg == SftConfig(data=Path("d.jsonl"), out=Path("o"))
    assert isinstance(cfg.data, Path)


def test_values_are_typed_and_optional_ints_read_as_ints():
    argv = ["--pairs", "p", "--out", "o", "--beta", "0.3", "--max-steps", "7", "--micro-batch", "2"]
    cfg = config_from(parser_for(OrpoConfig).parse_args(argv), OrpoConfig)
    assert (cfg.beta, cfg.max_steps, cfg.micro_batch) == (0.3, 7, 2)
    with pytest.raises(SystemExit):  # not an int
        parser_for(OrpoConfig).parse_args(["--pairs", "p", "--out", "o", "--max-steps", "x"])


def test_required_fields_bools_and_skipped_fields():
    with pytest.raises(SystemExit):  # --data has no default
        parser_for(SftConfig).parse_args(["--out", "o"])
    parser = parser_for(SftConfig, skip=("alpha",))
    args = parser.parse_args(["--data", "d", "--out", "o", "--resume", "--rank", "4"])
    assert args.resume is True and not hasattr(args, "alpha")
    assert config_from(args, SftConfig, alpha=2 * args.rank).alpha == 8
    assert parser.parse_args(["--data", "d", "--out", "o", "--no-resume"]).resume is False


def test_the_train_commands_offer_every_field_but_the_derived_ones():
    sub = build_parser()._subparsers._group_actions[0].choices["train"]
    commands = sub._subparsers._group_actions[0].choices
    for name, config, derived in (
        ("sft", SftConfig, {"alpha"}),
        ("orpo", OrpoConfig, {"alpha"}),
        ("ae", AeConfig, set()),
        ("cnn", CnnConfig, set()),  # --size is its own option: WIDTHxHEIGHT
    ):
        dests = {a.dest for a in commands[name]._actions}
        assert {f.name for f in fields(config)} - dests == derived, name


def test_a_renamed_flag_fills_its_field():
    args = build_parser().parse_args(["train", "ae", "--images", "50", "--held-out", "0.2"])
    cfg = config_from(args, AeConfig)
    assert (cfg.n_images, cfg.held_out, cfg.epochs) == (50, 0.2, AeConfig.epochs)
    args = build_parser().parse_args(["train", "cnn", "--clean", "20", "--workers", "3"])
    cfg = config_from(args, CnnConfig, size=(160, 96))
    assert (cfg.n_clean, cfg.workers, cfg.size) == (20, 3, (160, 96))


def test_the_command_line_loads_without_trl():
    code = "import sys; from diagrammer.cli import build_parser; build_parser()\n"
    code += "print('trl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
