"""`diagrammer render SPEC_FILE -o OUT.png`: draw a node list or a sketch as a PNG."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diagrammer.errors import UserError

HELP = "draw a diagram file (node list or sketch) as a PNG"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec_file", metavar="SPEC_FILE", help="node list or sketch text file")
    parser.add_argument("-o", "--out", required=True, metavar="OUT.png", help="PNG to write")


def run(args: argparse.Namespace) -> int:
    from engine.diagram.read import to_diagram
    from engine.diagram.render import render
    from engine.diagram.validate import validate

    try:
        text = Path(args.spec_file).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{args.spec_file} is not UTF-8 text") from e
    except IsADirectoryError as e:
        raise UserError(f"{args.spec_file} is a directory") from e
    result = to_diagram(text)  # DiagramError: the CLI says why, exit 2
    problems = result.problems + (validate(result.diagram) if result.diagram.nodes else [])
    for p in problems:
        where = f"line {p.line}: " if p.line else ""
        print(f"warning: {where}{p.what}: {p.why}", file=sys.stderr)
    if not result.diagram.nodes:
        raise UserError(f"{args.spec_file}: no nodes to draw")
    out = Path(args.out)
    try:
        out.write_bytes(render(result.diagram))
    except OSError as e:
        raise UserError(f"cannot write {out}: {e.strerror}") from e
    print(out)
    return 0
