"""`diagrammer render SPEC_FILE -o OUT.png`: draw a node list or a sketch as a PNG, and the
same drawing as SVG beside it (OUT.svg)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from diagrammer.errors import UserError

HELP = "draw a diagram file (node list or sketch) as a PNG and an SVG beside it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec_file", metavar="SPEC_FILE", help="node list or sketch text file")
    parser.add_argument(
        "-o", "--out", required=True, metavar="OUT.png", help="PNG to write (and OUT.svg)"
    )


def run(args: argparse.Namespace) -> int:
    from engine.diagram.read import to_diagram
    from engine.diagram.render import render
    from engine.diagram.svg import render_svg
    from engine.diagram.validate import validate

    out = Path(args.out)
    svg = out.with_suffix(".svg")
    if svg == out:
        raise UserError(f"-o {out}: name the PNG; the SVG is written beside it")
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
    for path, data in ((out, render(result.diagram)), (svg, render_svg(result.diagram).encode())):
        try:
            path.write_bytes(data)
        except OSError as e:
            raise UserError(f"cannot write {path}: {e.strerror}") from e
        print(path)
    return 0
