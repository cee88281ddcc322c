"""Command-line options made from a config dataclass's fields (training/config.py), so an
option is named, typed and defaulted once, in the dataclass: `batch_size: int = 32` becomes
`--batch-size`, an int whose help shows its default. Fields without a default are required;
a bool becomes a --flag / --no-flag pair; `int | None` reads an int and defaults to None.
The command keeps only what is its own: the help sentences, fields it derives or reads
differently (`skip`), and its checks.
"""

from __future__ import annotations

import argparse
import types
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, fields
from typing import Any, Union, get_args, get_origin, get_type_hints


def add_config_options(
    parser: argparse.ArgumentParser,
    config: type,
    helps: Mapping[str, str] | None = None,
    skip: Iterable[str] = (),
    flags: Mapping[str, str] | None = None,
) -> None:
    """One option per field of `config` but those in `skip`, in the dataclass's order;
    `flags` names an option otherwise than its field (n_images: --images)."""
    hints, helps, skip, flags = get_type_hints(config), helps or {}, set(skip), flags or {}
    for f in fields(config):
        if f.name in skip:
            continue
        kind = _plain(hints[f.name])
        text = helps.get(f.name, f.name.replace("_", " ")).replace("%", "%%")
        flag = flags.get(f.name, "--" + f.name.replace("_", "-"))
        named = {"dest": f.name}
        if kind is not bool:
            named["metavar"] = flag.removeprefix("--").replace("-", "_").upper()
        if f.default is MISSING:
            parser.add_argument(flag, type=kind, required=True, help=text, **named)
        elif kind is bool:
            action = argparse.BooleanOptionalAction
            parser.add_argument(flag, action=action, default=f.default, help=text, **named)
        else:
            text += " (default: %(default)s)"
            parser.add_argument(flag, type=kind, default=f.default, help=text, **named)


def config_from(args: argparse.Namespace, config: type, **given: Any) -> Any:
    """The config the command line asked for: its options, then `given` (derived fields)."""
    values = {f.name: getattr(args, f.name) for f in fields(config) if hasattr(args, f.name)}
    return config(**(values | given))


def _plain(annotation: Any) -> type:
    """The type argparse converts to: `X | None` reads as X."""
    if get_origin(annotation) in (Union, types.UnionType):
        (annotation,) = [a for a in get_args(annotation) if a is not type(None)]
    return annotation
