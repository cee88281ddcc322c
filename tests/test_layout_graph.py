"""The v2 layout (engine/diagram/layout_graph.py): lanes, loops, slots, frames and pills
draw cleanly: no overlap, no edge through a node, comfortable gaps, every label readable."""

from __future__ import annotations

import pytest

from engine.diagram.layout_graph import back_edges, layout_graph
from engine.diagram.metrics import Metrics, metrics
from engine.diagram.model import Diagram, Node, is_bend
from engine.diagram.render import title_strip
from engine.diagram.sketch import Sketch, parse_sketch
from engine.diagram.validate import validate

GAN = (
    "steps: [noise z] | generator G | [fake G(z)] | [dataset] | sample batch | [real x] | "
    "discriminator D | loss\n"
    "edges: 1>2 2>3 4>5 5>6 3>7 6>7 7>8 8>7[update D] 8>2[update G]"
)
GAN_DATASET_FIRST = (
    "steps: [dataset] | [noise z] | generator G | [fake G(z)] | sample batch | [real x] | "
    "discriminator D | loss\n"
    "edges: 2>3 3>4 1>5 5>6 4>7 6>7 7>8 8>7[update D] 8>3[update G]"
)


def sketch_of(text: str) -> Sketch:
    sketch, problems = parse_sketch(text)
    assert isinstance(sketch, Sketch) and problems == [], problems
    return sketch


def clean(diagram: Diagram) -> Metrics:
    """The drawing's metrics, asserting it is clean (frames are backgrounds: left out)."""
    bare, whole = metrics(diagram.without_frames()), metrics(diagram)
    assert bare.overlap_count == 0
    assert bare.edges_through_nodes == 0
    assert bare.min_spacing >= 0.5
    assert whole.label_fit == 1.0
    assert whole.off_canvas_share == 0
    return bare


def named_loops(text: str) -> set[tuple[str, str]]:
    sketch = sketch_of(text)
    loops = back_edges(len(sketch.steps), sketch.flow_edges())
    return {(sketch.steps[a], sketch.steps[b]) for a, b in loops}


def test_loops_do_not_depend_on_step_order() -> None:
    expected = {("loss", "discriminator D"), ("loss", "generator G")}
    assert named_loops(GAN) == expected
    assert named_loops(GAN_DATASET_FIRST) == expected


def test_a_cycle_without_sources_loops_back_to_its_first_step() -> None:
    assert back_edges(3, [(0, 1), (1, 2), (2, 0)]) == {(2, 0)}
    assert back_edges(4, [(0, 1), (1, 2), (0, 2), (2, 3)]) == set()  # a join is no loop


def test_an_edge_on_no_cycle_is_no_loop() -> None:
    assert back_edges(3, [(1, 0), (1, 2), (2, 1)]) == {(2, 1)}


def legs(diagram: Diagram, node: int) -> list[tuple[int, int]]:
    """The bend points an edge leaves `node` for or comes into it from."""
    ids = diagram.by_id()
    into = [n for n in diagram.nodes if node in n.targets and is_bend(n)]
    out = [ids[t] for t in ids[node].targets if is_bend(ids[t])]
    return [(n.x, n.y) for n in into + out]


@pytest.mark.parametrize(
    ("text", "shared"),
    [
        (  # a lane comes into block 3 where the next one leaves it
            "blocks: inputs + positional encoding | multi-head attention h=8 | add & norm | "
            "feed forward 2048 | add & norm #2\n"
            "edges: 1>2 2>3 3>4 4>5 1>3[residual] 3>5[residual]",
            [2],
        ),
        ("steps: a | b | c | d | e\nedges: 1>2 2>3 3>4 4>5 1>3 1>5", [0]),  # two leave 1
        (  # two loops into a, down
            "steps: a | b | c | d | e | f\nedges: 1>2 2>1 2>3 3>4 4>3 4>5 5>1 5>6\n"
            "direction: down",
            [0],
        ),
        ("steps: a | b | c | d | e\nedges: 1>2 2>3 3>4 4>5 3>1 4>1", [0]),  # in a chain
    ],
    ids=["skips-meet", "skips-leave", "loops-down", "loops-chain"],
)
def test_lanes_at_one_node_meet_it_apart(text: str, shared: list[int]) -> None:
    diagram = layout_graph(sketch_of(text))
    clean(diagram)
    right = "direction: down" not in text
    for node in shared:
        points = legs(diagram, node)
        along = [x if right else y for x, y in points]
        assert len(points) == 2 and len(set(along)) == 2


def crosses(segment: tuple[Node, Node], box: tuple[float, float, float, float]) -> bool:
    """Whether the centre-to-centre segment runs through `box` (sampled finely)."""
    (p, q), (x0, y0, x1, y1) = segment, box
    for k in range(201):
        x, y = p.x + (q.x - p.x) * k / 200, p.y + (q.y - p.y) * k / 200
        if x0 < x < x1 and y0 < y < y1:
            return True
    return False


@pytest.mark.parametrize("direction", ["right"])
def test_lanes_keep_out_of_frames_and_their_titles(direction: str) -> None:
    diagram = layout_graph(sketch_of(
        "blocks: conv 64 | conv 128 | conv 256 | conv 512 | conv 1024 | up-conv 512 | "
        "up-conv 256 | up-conv 128 | up-conv 64\n"
        "edges: 1>2 2>3 3>4 4>5 5>6 6>7 7>8 8>9 4>6 3>7 2>8 1>9\n"
        f"groups: 1-4 encoder | 6-9 decoder\ndirection: {direction}"
    ))
    clean(diagram)
    frames = [n for n in diagram.nodes if n.id in diagram.frames()]
    assert [f.label for f in frames] == ["encoder", "decoder"]
    for f in frames:
        strip = title_strip(f).box
        lanes = [(p, q) for p, q in diagram.edges() if is_bend(p) or is_bend(q)]
        assert not any(crosses(e, strip) for e in lanes), f.label
        for bend in filter(is_bend, diagram.nodes):
            assert not crosses((bend, bend), f.box), f.label  # bends lie outside frames


def test_text_is_sized_for_the_scale_the_layout_needs() -> None:
    # Eight steps going down need a scale well below 0.9: pills and boxes sized for text
    # at scale 1 would draw their labels too small to read.
    diagram = layout_graph(sketch_of(
        "steps: collect data | clean data | train model | evaluate model | metrics ok? | "
        "deploy model | monitor drift | retrain model\n"
        "edges: 1>2 2>3 3>4 4>5 5>6[yes] 5>8[no] 6>7 7>8[drift] 8>4[again]\ndirection: down"
    ))
    clean(diagram)
    assert {"yes", "no", "drift", "again"} <= {n.label for n in diagram.nodes}


def test_frames_keep_their_title_and_the_gap_going_down() -> None:
    diagram = layout_graph(sketch_of(
        "blocks: conv 64 | conv 128 | conv 256 | conv 512 | conv 1024\n"
        "edges: 1>2 2>3 3>4 4>5 1>4\ngroups: 1-2 encoder | 4-5 decoder\ndirection: down"
    ))
    clean(diagram)
    frames = diagram.frames()
    for f in (n for n in diagram.nodes if n.id in frames):
        for n in diagram.nodes:
            a, b = f.box, n.box
            apart = b[0] >= a[2] or b[2] <= a[0] or b[1] >= a[3] or b[3] <= a[1]
            inside = a[0] <= b[0] and a[1] + 30 <= b[1] and b[2] <= a[2] and b[3] <= a[3]
            assert n.id == f.id or apart or inside, (f.label, n.label)


@pytest.mark.parametrize("direction", ["right", "down"])
@pytest.mark.parametrize(
    "text",
    [
        # d -> b loops into b, which shares its rank with c: the loop's leg must not cross c.
        "steps: a | b | c | d\nedges: 1>2 1>3 2>4 3>4 4>2\nshape: round rectangle 120x40",
        # the GAN's update loops into the generator, beside the slot of real data -> D
        "steps: [noise z] | generator G | [fake samples G(z)] | [real data x] | "
        "discriminator D | [real or fake?] | loss | update D, then G\n"
        "edges: 1>2 2>3 3>5 4>5 5>6 6>7 7>8 8>2\nshape: round rectangle 200x40",
    ],
    ids=["fork", "gan"],
)
def test_a_loop_into_a_node_with_rank_neighbours_passes_no_node(text: str, direction: str) -> None:
    clean(layout_graph(sketch_of(f"{text}\ndirection: {direction}")))


@pytest.mark.parametrize("direction", ["right", "down"])
def test_a_slot_segment_clears_the_boxes_beside_its_slot(direction: str) -> None:
    # Inception with the 1x1 branch listed first: conv 1x1 64 -> concat skips a rank and
    # leaves its slot beside conv 3x3 128 towards concat, across that box's corner.
    clean(
        layout_graph(
            sketch_of(
                "blocks: input 28x28x192 | conv 1x1 64 | conv 1x1 96 | conv 1x1 16 | "
                "max pool 3x3 | conv 3x3 128 | conv 5x5 32 | conv 1x1 32 | concat\n"
                f"edges: 1>2 1>3 1>4 1>5 3>6 4>7 5>8 2>9 6>9 7>9 8>9\ndirection: {direction}"
            )
        )
    )
@pytest.mark.parametrize("direction", ["right", "down"])
def test_no_edge_crosses_a_frame_title(direction: str) -> None:
    # Going down, the edge into the group's first step enters through the frame's top,
    # where the title is: the title sits where no edge passes.
    diagram = layout_graph(
        sketch_of(
            "blocks: input embedding | multi-head attention | add & norm | feed forward | "
            "add & norm #2 | output\n"
            "edges: 1>2 2>3 3>4 4>5 5>6 1>3 3>5\ngroups: 2-5 encoder x N\n"
            f"direction: {direction}"
        )
    )
    clean(diagram)
    frames = [n for n in diagram.nodes if n.id in diagram.frames()]
    assert [f.label for f in frames] == ["encoder x N"]
    strip = title_strip(frames[0]).box
    assert not any(crosses(e, strip) for e in diagram.edges())


@pytest.mark.parametrize("direction", ["right", "down"])
def test_a_loop_label_wider_than_its_lane_goes_on_two_lines(direction: str) -> None:
    """A labelled loop between neighbours ("for each epoch" from validate back to train)
    whose pill is wider than the room between the lane's bends: the pill wraps instead of
    covering the bends."""
    text = (
        "steps: load config | build model | train | validate | save | test on holdout\n"
        f"edges: 1>2 2>3 3>4 4>3[for each epoch] 4>5[best so far] 5>6\ndirection: {direction}"
    )
    diagram = layout_graph(sketch_of(text))
    clean(diagram)
    assert validate(diagram) == []  # the bends are nodes too: none overlapped
    pill = next(n for n in diagram.nodes if n.label == "for each epoch")
    assert pill.id in {t for n in diagram.nodes for t in n.targets}
