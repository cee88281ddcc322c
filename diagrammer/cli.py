"""The `diagrammer` console script.

Each leaf command is one module in `diagrammer/commands/`. A module named `bench_render`
becomes `diagrammer bench render`; `render` stays `diagrammer render`. A module defines
`HELP`, `add_arguments(parser)` and `run(args) -> int`, and imports heavy things (torch,
transformers) inside `run`, so `diagrammer --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from common.settings import ConfigError
from diagrammer import commands
from diagrammer.errors import UserError
from engine.diagram.model import DiagramError

GROUPS = {"bench": "benchmarks", "train": "train models", "data": "make training data"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="diagrammer", description=__doc__.splitlines()[0])
    top = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"diagrammer.commands.{info.name}")
        group, _, leaf = info.name.partition("_")
        if group in GROUPS and leaf:
            if group not in groups:
                gp = top.add_parser(group, help=GROUPS[group])
                groups[group] = gp.add_subparsers(dest="subcommand", required=True, metavar="WHAT")
            sub = groups[group].add_parser(leaf, help=module.HELP, description=module.HELP)
        else:
            sub = top.add_parser(info.name, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (UserError, DiagramError, ConfigError) as e:  # ConfigError: a bad setting
        print(f"diagrammer: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        # ModelNotFound says what was looked for and where; a bare OSError names the file
        print(
            f"diagrammer: {e if e.filename is None else f'no such file: {e.filename}'}",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
