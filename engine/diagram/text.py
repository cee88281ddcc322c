"""Write a diagram as canonical node-list text: what users download and edit, and the store keeps.

One node a line, in the diagram's order: 10 fields as in the original project, an 11th when
the label is not empty. `parse(to_text(d)).diagram == d` for every non-empty diagram whose
shapes and line styles are already in the parser's normal form (lower case, single spaces)
and whose numbers are within the parser's bounds.
"""

from __future__ import annotations

from engine.diagram.model import RGB, Diagram, Node

_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def to_text(diagram: Diagram) -> str:
    return "".join(node_line(n) + "\n" for n in diagram.nodes)


def node_line(n: Node) -> str:
    fields = [
        str(n.id),
        str(n.x),
        str(n.y),
        quote(n.shape),
        str(n.width),
        str(n.height),
        quote(n.line_style),
        _rgb(n.fill),
        _rgb(n.line_color),
        "[" + ", ".join(map(str, n.targets)) + "]",
    ]
    if n.label:
        fields.append(quote(n.label))
    return "[" + ", ".join(fields) + "]"


def quote(text: str) -> str:
    """`text` in single quotes, with the escapes the parser reads back."""
    return "'" + "".join(_ESCAPES.get(c, c) for c in text) + "'"


def _rgb(color: RGB) -> str:
    return "(" + ", ".join(map(str, color)) + ")"
