"""`diagrammer check SPEC_FILE [--request TEXT]`: problems, readability and fidelity as JSON."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from diagrammer.errors import UserError
from engine.diagram.model import MAX_INPUT_BYTES, Diagram

HELP = "check a diagram file (node list or sketch): problems, readability metrics, fidelity"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec_file", metavar="SPEC_FILE", help="node list or sketch text file")
    parser.add_argument(
        "--request", metavar="TEXT", help="the request it answers, to judge fidelity against"
    )


def read_text(path: str) -> str:
    """The file's text; UserError for anything that is not a small UTF-8 text file."""
    file = Path(path)
    if file.is_dir():
        raise UserError(f"{path} is a directory")
    if file.stat().st_size > MAX_INPUT_BYTES:  # FileNotFoundError: the CLI says so
        raise UserError(f"{path} is over {MAX_INPUT_BYTES} bytes (64 KiB), the input limit")
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"{path} is not UTF-8 text") from e


def _rounded(value: object) -> object:
    return round(value, 4) if isinstance(value, float) else value


def report(text: str, request: str | None) -> dict:
    """The JSON-ready check of a diagram text; DiagramError when it is unreadable."""
    from engine.diagram.metrics import metrics
    from engine.diagram.read import to_diagram
    from engine.diagram.validate import validate

    result = to_diagram(text)
    problems = result.problems + validate(result.diagram)
    measured = {k: _rounded(v) for k, v in asdict(metrics(result.diagram)).items()}
    readability = measured.pop("readability")
    return {
        "valid": not problems,
        "problems": [
            {"line": p.line, "node_id": p.node_id, "what": p.what, "why": p.why} for p in problems
        ],
        "metrics": measured,
        "readability": readability,
        "fidelity": _fidelity(result.diagram, request) if request else None,
    }


def _fidelity(diagram: Diagram, request: str) -> dict | None:
    """Fidelity to what `request` states, or None when it states no structure."""
    from engine.diagram.fidelity import fidelity
    from engine.diagram.spec import extract_spec

    spec = extract_spec(request)
    if spec is None:
        return None
    return {k: _rounded(v) for k, v in asdict(fidelity(diagram, spec)).items()}


def run(args: argparse.Namespace) -> int:
    print(json.dumps(report(read_text(args.spec_file), args.request), indent=2))
    return 0
