"""Read what a model (or a person) wrote: a sketch or a node list, into a diagram.

A text with a `layers:` or `steps:` key line is a sketch (docs/sketch.md) and is laid out;
anything else goes to the node-list parser (docs/format.md).
"""

from __future__ import annotations

from engine.diagram.layout import layout
from engine.diagram.model import DiagramError, ParseResult
from engine.diagram.parse import parse
from engine.diagram.sketch import looks_like_sketch, parse_sketch

FATAL = ("too long", "no structure", "bad layers", "no steps")


def to_diagram(text: str) -> ParseResult:
    """The diagram and the reading problems; DiagramError when nothing usable is there."""
    if not looks_like_sketch(text):
        return parse(text)
    sketch, problems = parse_sketch(text)
    if sketch is None:
        fatal = [p for p in problems if p.what in FATAL] or problems
        raise DiagramError(f"unreadable sketch: {fatal[0].why}")
    return ParseResult(layout(sketch), problems)
