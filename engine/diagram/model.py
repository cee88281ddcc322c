"""The diagram domain's types: a node list on a fixed canvas.

This is the interchange format of DESIGN.md: what the parser reads, the renderer draws,
the store keeps and users download. Everything here is plain data; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

CANVAS_W, CANVAS_H = 1000, 600
SHAPES = ("rectangle", "round rectangle", "circle")
LINE_STYLES = ("solid arrow", "solid line", "dashed line")
MAX_INPUT_BYTES = 64 * 1024
MAX_NODES = 200

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Node:
    """One node: centre (x, y), box size, style, outgoing edges and an optional label."""

    id: int
    x: int
    y: int
    shape: str
    width: int
    height: int
    line_style: str  # style of the lines *leaving* this node
    fill: RGB
    line_color: RGB
    targets: tuple[int, ...] = ()
    label: str = ""

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(x0, y0, x1, y1) of the node's bounding box."""
        return (
            self.x - self.width / 2,
            self.y - self.height / 2,
            self.x + self.width / 2,
            self.y + self.height / 2,
        )

    def moved(self, **changes: object) -> Node:
        return replace(self, **changes)


BEND_MAX = 8  # px: an unlabelled node this small is a bend point of an edge
TITLE_H = 30  # px: the strip at the top of a frame that holds its title


def is_bend(node: Node) -> bool:
    """A bend point: a routed edge's corner, drawn as a dot; no arrowhead points at it."""
    return node.width <= BEND_MAX and node.height <= BEND_MAX and not node.label.strip()


def contains(outer: Node, inner: Node) -> bool:
    a, b = outer.box, inner.box
    return a[0] <= b[0] and a[1] <= b[1] and b[2] <= a[2] and b[3] <= a[3] and outer != inner


@dataclass(frozen=True)
class Diagram:
    """A node list. Two looks have a meaning of their own (docs/format.md): a bend point
    (`is_bend`) and a frame (`frames`): a node without edges whose box holds other nodes'
    boxes, drawn behind them with its label at the top (a group: "encoder x6")."""

    nodes: tuple[Node, ...] = ()

    def frames(self) -> set[int]:
        """Ids of the frames: no edge in or out, and other nodes' boxes inside."""
        linked = {n.id for n in self.nodes if n.targets}
        linked |= {t for n in self.nodes for t in n.targets}
        return {
            f.id
            for f in self.nodes
            if f.id not in linked and any(contains(f, n) for n in self.nodes if n.id != f.id)
        }

    def without_frames(self) -> Diagram:
        frames = self.frames()
        return Diagram(tuple(n for n in self.nodes if n.id not in frames)) if frames else self

    def by_id(self) -> dict[int, Node]:
        """Nodes by id; with duplicate ids the first one wins (validation reports the rest)."""
        out: dict[int, Node] = {}
        for n in self.nodes:
            out.setdefault(n.id, n)
        return out

    def edges(self) -> list[tuple[Node, Node]]:
        """(source, target) pairs whose target exists and is not the source itself."""
        ids = self.by_id()
        return [(n, ids[t]) for n in self.nodes for t in n.targets if t in ids and t != n.id]


@dataclass(frozen=True)
class Problem:
    """Something wrong with a diagram or its text.

    line: 1-based line in the source text (None when it is about the diagram as a whole);
    what: a short machine-readable kind ("unknown shape", "overlap", ...);
    why: one human sentence.
    """

    what: str
    why: str
    line: int | None = None
    node_id: int | None = None


@dataclass(frozen=True)
class ParseResult:
    diagram: Diagram
    problems: list[Problem] = field(default_factory=list)


class DiagramError(ValueError):
    """Input the parser refuses as a whole (too big, nothing that looks like a node list)."""


@dataclass(frozen=True)
class Spec:
    """The structure a request states, as extracted from its text (engine/diagram/spec.py).

    kind "network": node-level neural network, `layers` = nodes per layer, input first.
    kind "flow": ordered process steps, `steps` = short step names in order.
    kinds "stack" (a layer stack), "dataflow" (data and processes) and "named" (a catalogue
    entry, `name`): `structure` holds the structure lines of a sketch (docs/sketch.md:
    `blocks:` / `steps:`, `edges:`, `groups:`) that the request states; `steps` their names.
    """

    kind: str
    layers: tuple[int, ...] = ()
    steps: tuple[str, ...] = ()
    structure: str = ""
    name: str = ""
