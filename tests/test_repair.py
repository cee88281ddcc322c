"""Repair: fixes what it can, says what it changed, leaves clean diagrams alone."""

from __future__ import annotations

from engine.diagram.model import CANVAS_H, CANVAS_W, Diagram, Node
from engine.diagram.repair import repair
from engine.diagram.validate import validate

FIXABLE = {"off canvas", "overlap", "dangling target", "self link", "bad colour"}


def node(i: int, x: int, y: int, targets: tuple[int, ...] = (), size: int = 60, **kw) -> Node:
    style = {"shape": "circle", "line_style": "solid line", "fill": (255, 224, 178)}
    return Node(
        i,
        x,
        y,
        width=size,
        height=size,
        line_color=(40, 40, 40),
        targets=targets,
        **{**style, **kw},
    )


def messy() -> Diagram:
    return Diagram(
        (
            node(0, -20, 300, (1, 0, 42)),  # off the left edge, self link, dangling target
            node(1, 990, 300, (2,), size=30),  # off the right edge
            node(2, 500, 300, (3,), fill=(300, -4, 120)),  # bad colour; pile of four below
            node(3, 510, 305, (4,)),
            node(4, 495, 290, (5,)),
            node(5, 500, 300),
        )
    )


def test_messy_diagram_is_repaired_where_possible() -> None:
    fixed, changes = repair(messy())
    assert validate(messy()) and FIXABLE.isdisjoint(p.what for p in validate(fixed))
    assert "node 1: moved from (990, 300) to (985, 300) to fit the canvas" in changes
    assert "node 0: dropped its link to itself" in changes
    assert "node 0: dropped target 42, which does not exist" in changes
    assert "node 2: fill (300, -4, 120) clamped to (255, 0, 120)" in changes


def test_node_bigger_than_the_canvas_is_shrunk_and_centred() -> None:
    fixed, changes = repair(Diagram((node(0, 900, 620, size=2000),)))
    big = fixed.nodes[0]
    assert (big.x, big.y, big.width, big.height) == (500, 300, CANVAS_W, CANVAS_H)
    assert changes == [
        "node 0: shrunk from 2000 x 2000 to 1000 x 600 to fit the canvas",
        "node 0: moved from (900, 620) to (500, 300) to fit the canvas",
    ]


def test_a_pile_of_nodes_is_pushed_apart_inside_the_canvas() -> None:
    pile = Diagram(tuple(node(i, 500 + i, 300 - i, ((i + 1) % 12,)) for i in range(12)))
    fixed, changes = repair(pile)
    assert [p.what for p in validate(fixed)] == []
    assert len(changes) == 12 and all("to clear an overlap" in c for c in changes)


def test_pile_near_a_corner_moves_away_from_the_edge() -> None:
    corner = Diagram((node(0, 30, 30), node(1, 35, 35), node(2, 40, 30)))
    fixed, _ = repair(corner)
    assert [p.what for p in validate(fixed)] == []


def test_clean_diagram_comes_back_unchanged() -> None:
    clean = Diagram((node(0, 200, 300, (1,)), node(1, 500, 300, (2,)), node(2, 800, 300)))
    fixed, changes = repair(clean)
    assert fixed is clean
    assert changes == []


def test_repair_is_deterministic_and_idempotent() -> None:
    once, changes = repair(messy())
    assert repair(messy()) == (once, changes)
    assert repair(once) == (once, [])


def test_too_many_nodes_for_the_canvas_stay_on_it() -> None:
    crowd = Diagram(tuple(node(i, 500, 300, size=150) for i in range(40)))  # 1.5x the canvas
    fixed, _ = repair(crowd)
    assert "off canvas" not in {p.what for p in validate(fixed)}
