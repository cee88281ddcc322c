"""Draw a Diagram as SVG: the same drawing as engine/diagram/render.py, as vector.

Pure and deterministic: the same diagram always gives the same text. Every decision about
what is drawn where comes from render.py's helpers (taming, which nodes and edges show, edge
spans, arrowheads, corner radii, label lines, common text scale, baselines, frames' title
strips), so the SVG follows the PNG; this module only writes it down. Same order as the
PNG: a white background, frames (each with its title), edges, the other nodes, their labels.

Invalid input is drawn exactly as render.py draws it (dangling targets and self-links
skipped, unknown shapes as rectangles, unknown line styles as plain lines, colours clamped;
the viewBox clips what lies off the canvas). Label text is escaped (`&<>"'`) and characters
that XML cannot hold at all are replaced, so the output is always well-formed XML.
"""

from __future__ import annotations

import html
import re

from engine.diagram import render
from engine.diagram.label_fit import CAP
from engine.diagram.metrics import label_colour
from engine.diagram.model import CANVAS_H, CANVAS_W, RGB, Diagram, Node

# A sans-serif capital is about 0.72 em tall (Helvetica/Arial 0.716, DejaVu Sans 0.729): the
# font size that gives OpenCV's capital height CAP * scale.
CAP_EM = 0.72
# Line widths are the viewer font's own (stretching glyphs to OpenCV's widths looks worse
# than a few % of difference). DejaVu Sans at that size measures within 6% of OpenCV's widths
# (0.96-1.06 on typical labels), well inside RECT_PAD; Helvetica and Arial run narrower.
FONT_FAMILY = "DejaVu Sans, Helvetica, Arial, sans-serif"
# XML 1.0 cannot hold these even as character references: C0 controls but tab, line feed
# and carriage return, lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render_svg(diagram: Diagram) -> str:
    """The diagram as an SVG document of CANVAS_W x CANVAS_H px."""
    diagram = render.tame(diagram)
    frames = diagram.frames()
    nodes = render.drawn_nodes(diagram)
    drawn = list(zip(nodes, render.label_lines(nodes, frames), strict=True))
    back = []  # render._draw's order: frames behind everything, titled in their top strip
    for n, (lines, scale) in drawn:
        if n.id in frames:
            back += [_node(n), _label(render.title_strip(n), lines, scale)]
    front = [(n, lines, scale) for n, (lines, scale) in drawn if n.id not in frames]
    return "\n".join(
        [
            '<svg xmlns="http://www.w3.org/2000/svg" version="1.1"'
            f' width="{CANVAS_W}" height="{CANVAS_H}" viewBox="0 0 {CANVAS_W} {CANVAS_H}">',
            f'<rect class="background" width="{CANVAS_W}" height="{CANVAS_H}" fill="#ffffff"/>',
            f'<g class="frames" stroke-width="{render.BORDER_W}" stroke-linejoin="round"'
            f' font-family="{FONT_FAMILY}" text-anchor="middle">',
            *(piece for piece in back if piece),
            "</g>",
            # Round caps and joins: what OpenCV's thick anti-aliased lines look like.
            f'<g class="edges" fill="none" stroke-width="{render.LINE_W}" stroke-linecap="round">',
            *(e for e in (_edge(s, t) for s, t in diagram.edges()) if e),
            "</g>",
            f'<g class="nodes" stroke-width="{render.BORDER_W}" stroke-linejoin="round">',
            *(_node(n) for n, _, _ in front),
            "</g>",
            f'<g class="labels" font-family="{FONT_FAMILY}" text-anchor="middle">',
            *(_label(n, lines, scale) for n, lines, scale in front if lines),
            "</g>",
            "</svg>",
            "",
        ]
    )


def _edge(source: Node, target: Node) -> str:
    """The edge as one <path> (plus its arrowhead), or "" when render.py draws nothing."""
    span = render.edge_span(source, target)
    if span is None:
        return ""
    p0, u, length = span
    colour = _hex(source.line_color)
    dash = ""
    shaft, head = length, ""
    if source.line_style == "dashed line":
        # Dashes start at the source's border, as render.py's do.
        dash = f' stroke-dasharray="{_num(render.DASH)} {_num(render.GAP)}"'
    elif render.has_head(source, target):
        shaft, corners = render.arrow_parts(p0, u, length, render.head_length(target))
        points = " ".join(f"{_num(x)},{_num(y)}" for x, y in corners)
        head = f'\n<polygon class="head" points="{points}" fill="{colour}" stroke="none"/>'
    if not shaft:
        return head.lstrip("\n")
    end = (p0[0] + u[0] * shaft, p0[1] + u[1] * shaft)
    d = f"M{_num(p0[0])} {_num(p0[1])}L{_num(end[0])} {_num(end[1])}"
    return f'<path class="edge" d="{d}" stroke="{colour}"{dash}/>{head}'


def _node(node: Node) -> str:
    """Rectangle, round rectangle or ellipse; any other shape as a rectangle, as render.py."""
    paint = f'fill="{_hex(node.fill)}" stroke="{_hex(node.line_color)}"'
    if node.shape == "circle":
        return (
            f'<ellipse cx="{_num(node.x)}" cy="{_num(node.y)}" rx="{_num(node.width / 2)}"'
            f' ry="{_num(node.height / 2)}" {paint}/>'
        )
    corner = ""
    if node.shape == "round rectangle":
        corner = f' rx="{_num(render.corner_radius(node.width, node.height))}"'
    x0, y0 = node.x - node.width / 2, node.y - node.height / 2
    return (
        f'<rect x="{_num(x0)}" y="{_num(y0)}" width="{_num(node.width)}"'
        f' height="{_num(node.height)}"{corner} {paint}/>'
    )


def _label(node: Node, lines: tuple[str, ...], scale: float) -> str:
    """One <text> per line, centred on the node, on render.py's baselines."""
    size = _num(CAP * scale / CAP_EM)
    colour = _hex(label_colour(node.fill))  # the colour the contrast metric judges
    out = []
    for line, y in zip(lines, render.baselines(node, len(lines), scale), strict=True):
        line = line.split("\x00", 1)[0]  # OpenCV draws a C string: up to the first NUL
        out.append(
            f'<text x="{_num(node.x)}" y="{_num(y)}" font-size="{size}"'
            f' fill="{colour}">{_text(line)}</text>'
        )
    return "\n".join(out)


def _text(s: str) -> str:
    """`s` safe as XML character data and attribute values."""
    return html.escape(_NOT_XML.sub("\ufffd", s), quote=True)


def _hex(rgb: RGB) -> str:
    r, g, b = render.clamped(rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def _num(v: float) -> str:
    """A coordinate to 1/100 px, without trailing zeros (shorter, and the same every time)."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s
