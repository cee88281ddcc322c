"""Readability metrics on hand-built diagrams whose answers are known."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine.diagram import geometry
from engine.diagram.metrics import contrast_ratio, label_colour, metrics
from engine.diagram.model import Diagram, Node
from engine.diagram.read import to_diagram

NAVY, LIGHT = (30, 30, 90), (173, 216, 230)


def node(
    i: int, x: int, y: int, targets: tuple[int, ...] = (), size: int = 40, **kw: object
) -> Node:
    style = {"shape": "rectangle", "line_style": "solid arrow", "fill": LIGHT, "line_color": NAVY}
    return Node(i, x, y, width=size, height=size, targets=targets, **{**style, **kw})


def layered(layers: list[int], size: int = 44) -> Diagram:
    """A node-level MLP in columns, nodes evenly spaced, full connections between layers."""
    ids = list(itertools.accumulate([0, *layers]))
    nodes = []
    for li, n in enumerate(layers):
        x = round(1000 * (li + 1) / (len(layers) + 1))
        nxt = tuple(range(ids[li + 1], ids[li + 2])) if li + 1 < len(layers) else ()
        for k in range(n):
            y = round(600 * (k + 1) / (n + 1))
            nodes.append(node(ids[li] + k, x, y, nxt, size=size, shape="circle"))
    return Diagram(tuple(nodes))


def chain() -> Diagram:
    return Diagram((node(0, 200, 300, (1,)), node(1, 500, 300, (2,)), node(2, 800, 300)))


# --- crossings --------------------------------------------------------------------------------


def test_two_crossing_edges_cross_once() -> None:
    d = Diagram(
        (node(0, 100, 100, (3,)), node(1, 100, 400, (2,)), node(2, 400, 100), node(3, 400, 400))
    )
    m = metrics(d)
    assert (m.edge_crossings, m.k22_crossings, m.crossable_pairs) == (1, 0, 1)


def test_edges_sharing_an_endpoint_do_not_cross() -> None:
    d = Diagram(
        (node(0, 100, 300, (1, 2)), node(1, 400, 100), node(2, 400, 500, (3,)), node(3, 100, 100))
    )
    # 0->1 and 2->3 cross; 0->1 and 0->2 share node 0; 0->2 and 2->3 share node 2.
    assert metrics(d).edge_crossings == 1
    fan = Diagram((node(0, 100, 300, (1, 2)), node(1, 400, 100), node(2, 400, 500)))
    assert (metrics(fan).edge_crossings, metrics(fan).crossable_pairs) == (0, 0)


def test_x_of_four_nodes_fully_connected_is_one_unavoidable_crossing() -> None:
    d = Diagram(
        (node(0, 100, 100, (2, 3)), node(1, 100, 400, (2, 3)), node(2, 400, 100), node(3, 400, 400))
    )
    m = metrics(d)
    assert (m.edge_crossings, m.k22_crossings, m.crossable_pairs) == (1, 1, 2)


def test_touching_and_collinear_edges_do_not_cross() -> None:
    # 0->1 ends on the line of 2->3 (a T); 4->5 runs along 6->7 (collinear, overlapping).
    d = Diagram(
        (
            node(0, 300, 100, (1,), size=10),
            node(1, 300, 300, size=10),
            node(2, 100, 300, (3,), size=10),
            node(3, 500, 300, size=10),
            node(4, 100, 500, (5,), size=10),
            node(5, 400, 500, size=10),
            node(6, 200, 500, (7,), size=10),
            node(7, 600, 500, size=10),
        )
    )
    assert metrics(d).edge_crossings == 0


def _brute_crossings(p: np.ndarray, q: np.ndarray, src: np.ndarray, dst: np.ndarray) -> int:
    def side(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    count = 0
    for i, j in itertools.combinations(range(len(p)), 2):
        if {src[i], dst[i]} & {src[j], dst[j]}:
            continue
        if side(p[i], q[i], p[j]) * side(p[i], q[i], q[j]) < 0 and (
            side(p[j], q[j], p[i]) * side(p[j], q[j], q[i]) < 0
        ):
            count += 1
    return count


def test_blocked_crossing_count_matches_brute_force(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(geometry, "BLOCK", 7)  # many blocks, ragged last one
    rng = np.random.default_rng(3)
    centres = rng.integers(0, 50, (30, 2)).astype(float) * 20
    src, dst = rng.integers(0, 30, 80), rng.integers(0, 30, 80)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    linked = np.zeros((30, 30), dtype=bool)
    got = geometry.crossings(centres[src], centres[dst], src, dst, linked)
    assert got.total == _brute_crossings(centres[src], centres[dst], src, dst) > 0


# --- edges through nodes ----------------------------------------------------------------------


def test_edge_through_a_middle_node() -> None:
    d = Diagram((node(0, 100, 300, (2,)), node(1, 500, 300), node(2, 900, 300)))
    assert metrics(d).edges_through_nodes == 1
    around = Diagram((node(0, 100, 300, (2,)), node(1, 500, 200), node(2, 900, 300)))
    assert metrics(around).edges_through_nodes == 0


def test_edge_past_a_circles_box_corner_misses_the_circle() -> None:
    # The edge y = x + 10 cuts a corner of the box 480..520 x 460..500, not the circle in it.
    ends = (node(0, 100, 110, (2,), size=10), node(2, 580, 590, size=10))
    box = Diagram((*ends, node(1, 500, 480)))
    circle = Diagram((*ends, node(1, 500, 480, shape="circle")))
    assert metrics(box).edges_through_nodes == 1
    assert metrics(circle).edges_through_nodes == 0


# --- boxes ------------------------------------------------------------------------------------


def test_overlap_area_of_two_known_boxes() -> None:
    d = Diagram((node(0, 300, 300, size=100), node(1, 350, 300, size=100)))
    m = metrics(d)
    # Intersection 50 x 100 = 5000 px² of 2 x 100 x 100 node area.
    assert (m.overlap_count, m.overlap_area) == (1, pytest.approx(0.25))
    assert (m.min_spacing_px, m.min_spacing) == (0.0, 0.0)


def test_off_canvas_share_of_a_half_outside_node() -> None:
    assert metrics(Diagram((node(0, 0, 300, size=100),))).off_canvas_share == pytest.approx(0.5)
    two = Diagram((node(0, 1000, 300, size=100), node(1, 500, 300, size=100)))
    assert metrics(two).off_canvas_share == pytest.approx(0.25)


def test_min_spacing_in_px_and_relative_to_node_size() -> None:
    d = Diagram((node(0, 300, 300, size=40), node(1, 350, 300, size=40), node(2, 350, 500)))
    m = metrics(d)
    assert m.min_spacing_px == 10.0  # boxes 280..320 and 330..370
    assert m.min_spacing == pytest.approx(0.25)


# --- colour -----------------------------------------------------------------------------------


def test_wcag_contrast_ratio() -> None:
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast_ratio((255, 255, 255), (0, 0, 0)) == pytest.approx(21.0)
    assert contrast_ratio((120, 40, 200), (120, 40, 200)) == pytest.approx(1.0)
    assert contrast_ratio((119, 119, 119), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)


def test_label_colour_is_the_one_with_more_contrast() -> None:
    assert label_colour((20, 20, 80)) == (255, 255, 255)
    assert label_colour((250, 240, 200)) == (0, 0, 0)


def test_contrast_metrics_look_at_the_worst_node() -> None:
    d = Diagram(
        (
            node(0, 200, 300, label="a", fill=(255, 255, 255)),
            node(1, 500, 300, line_color=(200,) * 3),
        )
    )
    m = metrics(d)
    assert m.fill_label_contrast == pytest.approx(21.0)  # black on white; node 1 has no label
    assert m.line_contrast == pytest.approx(contrast_ratio((200, 200, 200), (255, 255, 255)))
    assert metrics(chain()).fill_label_contrast is None


# --- combined score ---------------------------------------------------------------------------


def test_clean_chain_scores_one() -> None:
    m = metrics(chain())
    assert m.readability == 1.0
    assert (m.nodes, m.edges, m.overlap_count, m.edge_crossings) == (3, 2, 0, 0)


def test_empty_diagram_scores_zero() -> None:
    assert metrics(Diagram()).readability == 0.0


@pytest.mark.parametrize(
    "defect",
    [
        lambda n: n.moved(x=220) if n.id == 1 else n,  # node 1 onto node 0
        lambda n: n.moved(x=990) if n.id == 2 else n,  # half off the canvas
        lambda n: n.moved(line_color=(225, 225, 225)),  # pale lines on white
        lambda n: n.moved(x=250 + 45 * n.id),  # cramped: 5 px apart
        lambda n: n.moved(label="a label far too long for its node"),
        lambda n: n.moved(targets=(*n.targets, 9)),  # dangling target
    ],
    ids=["overlap", "off canvas", "low contrast", "cramped", "label", "dangling"],
)
def test_each_defect_lowers_the_score(defect) -> None:
    twin = Diagram(tuple(defect(n) for n in chain().nodes))
    assert metrics(twin).readability < metrics(chain()).readability


def test_avoidable_crossing_costs_more_than_a_full_layers_crossing() -> None:
    avoidable = Diagram(
        (node(0, 100, 100, (3,)), node(1, 100, 400, (2,)), node(2, 400, 100), node(3, 400, 400))
    )
    k22 = Diagram(
        (node(0, 100, 100, (2, 3)), node(1, 100, 400, (2, 3)), node(2, 400, 100), node(3, 400, 400))
    )
    assert metrics(avoidable).readability < metrics(k22).readability < 1.0


def test_sensible_mlp_scores_high_despite_its_crossings() -> None:
    m = metrics(layered([2, 4, 6, 1]))
    assert m.edge_crossings == 6 + 90  # C(2,2)C(4,2) + C(4,2)C(6,2), all unavoidable
    assert m.k22_crossings == m.edge_crossings
    assert m.edges_through_nodes == 0
    assert m.readability > 0.85


def test_laid_out_mlp_sketch_scores_high() -> None:
    sketch = "layers: 2 4 6 1\nshape: circle 44x44\nlabels: x | h | h | y\n"
    assert metrics(to_diagram(sketch).diagram).readability > 0.85


def test_broken_mlp_scores_clearly_lower() -> None:
    clean = layered([2, 4, 6, 1])
    squashed = Diagram(tuple(n.moved(x=500 + (n.x - 500) // 8) for n in clean.nodes))
    assert metrics(squashed).readability < metrics(clean).readability - 0.3


def test_dense_mlp_still_counts_every_crossing() -> None:
    m = metrics(layered([10, 20, 20, 10], size=20))
    assert m.edges == 800
    assert m.edge_crossings == m.k22_crossings == 45 * 190 * 2 + 190 * 190
    assert m.readability > 0.8
