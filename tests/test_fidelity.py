"""Fidelity of hand-built diagrams to a spec, and of laid-out specs from the request set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.diagram.fidelity import fidelity, infer_layers, matches
from engine.diagram.layout import layout
from engine.diagram.model import MAX_NODES, Diagram, Node, Spec
from engine.diagram.read import to_diagram
from engine.diagram.sketch import Sketch
from engine.diagram.spec import extract_spec

REQUESTS = Path(__file__).parent / "data" / "requests.jsonl"


def node(i: int, targets: tuple[int, ...] = (), label: str = "") -> Node:
    """A node whose geometry does not matter here: fidelity reads only ids, edges and labels."""
    return Node(
        i,
        100 + 60 * i,
        300,
        "circle",
        40,
        40,
        "solid arrow",
        (200, 200, 255),
        (0, 0, 0),
        targets,
        label,
    )


def mlp(
    *sizes: int, drop: set[tuple[int, int]] = frozenset(), add: set[tuple[int, int]] = frozenset()
) -> Diagram:
    """A fully connected network, ids in layer order, minus `drop` plus `add` (source, target)."""
    layers, first = [], 0
    for size in sizes:
        layers.append(list(range(first, first + size)))
        first += size
    edges = {(a, b) for i in range(len(layers) - 1) for a in layers[i] for b in layers[i + 1]}
    edges = (edges - drop) | add
    return Diagram(
        tuple(node(i, tuple(sorted(b for a, b in edges if a == i))) for i in range(first))
    )


def chain(labels: list[str], edges: list[tuple[int, int]] | None = None) -> Diagram:
    """Labelled boxes; edges default to the chain in the given order."""
    if edges is None:
        edges = [(i, i + 1) for i in range(len(labels) - 1)]
    return Diagram(
        tuple(node(i, tuple(b for a, b in edges if a == i), lab) for i, lab in enumerate(labels))
    )


NET_231 = Spec("network", layers=(2, 3, 1))
STEPS = Spec("flow", steps=("load data", "clean", "train", "evaluate"))


# ---- networks ----------------------------------------------------------------------------


def test_no_spec_no_judgement() -> None:
    assert fidelity(mlp(2, 3, 1), None) is None
    assert fidelity(Diagram(), None) is None


def test_exact_mlp() -> None:
    f = fidelity(mlp(2, 3, 1), NET_231)
    assert f is not None and f.exact and f.score == 1.0
    assert "2-3-1 as asked" in f.why


def test_layers_follow_longest_paths_whatever_the_ids() -> None:
    d = Diagram((node(9, (4,)), node(4, (7,)), node(7), node(5, (4, 7))))
    layers, edges = infer_layers(d)
    assert layers == [[9, 5], [4], [7]] and len(edges) == 4


def test_missing_edge_is_close_but_not_exact() -> None:
    f = fidelity(mlp(2, 3, 1, drop={(0, 2)}), NET_231)
    assert f is not None and not f.exact and 0.9 < f.score < 1.0
    assert "8 of 9 connections" in f.why


def test_more_missing_edges_score_lower() -> None:
    one = fidelity(mlp(2, 3, 1, drop={(0, 2)}), NET_231)
    three = fidelity(mlp(2, 3, 1, drop={(0, 2), (0, 3), (1, 2)}), NET_231)
    assert one is not None and three is not None and three.score < one.score


def test_wrong_layer_size() -> None:
    f = fidelity(mlp(2, 4, 1), NET_231)
    assert f is not None and not f.exact and 0.5 < f.score < 1.0
    assert "asked 2-3-1" in f.why


def test_wrong_layer_count() -> None:
    f = fidelity(mlp(2, 3, 3, 1), NET_231)
    assert f is not None and not f.exact and f.score < fidelity(mlp(2, 4, 1), NET_231).score


def test_extra_edge_skipping_a_layer() -> None:
    f = fidelity(mlp(2, 3, 1, add={(0, 5)}), NET_231)
    assert f is not None and not f.exact and "1 other edges" in f.why


def test_isolated_node_counts_against() -> None:
    d = mlp(2, 3, 1)
    f = fidelity(Diagram((*d.nodes, node(6))), NET_231)
    assert f is not None and not f.exact and "1 nodes outside" in f.why


def test_reversed_direction_is_not_the_asked_network() -> None:
    d = mlp(1, 3, 2)  # drawn output-first
    f = fidelity(d, NET_231)
    assert f is not None and not f.exact


def test_cycle_and_empty_diagrams_do_not_crash() -> None:
    looped = Diagram((node(0, (1,)), node(1, (2,)), node(2, (1,))))
    f = fidelity(looped, NET_231)
    assert f is not None and not f.exact and f.score < 0.5
    empty = fidelity(Diagram(), NET_231)
    assert empty is not None and not empty.exact and empty.score == 0.0


# ---- flows -------------------------------------------------------------------------------


def test_flow_chain_in_order_is_exact() -> None:
    f = fidelity(chain(["Load the data", "Clean data", "Train model", "Evaluation"]), STEPS)
    assert f is not None and f.exact and f.score == 1.0


def test_flow_out_of_order() -> None:
    f = fidelity(chain(["load data", "train", "clean", "evaluate"]), STEPS)
    assert f is not None and not f.exact and 0.3 < f.score < 1.0
    assert "3 in order, 0 of 3 links" in f.why


def test_flow_broken_chain() -> None:
    d = chain(["load data", "clean", "train", "evaluate"], edges=[(0, 1), (2, 3)])
    f = fidelity(d, STEPS)
    assert f is not None and not f.exact
    assert "2 in order, 2 of 3 links direct" in f.why and 0.5 < f.score < 1.0


def test_flow_missing_step() -> None:
    f = fidelity(chain(["load data", "train", "evaluate"]), STEPS)
    assert f is not None and not f.exact and "3 of 4 steps drawn" in f.why


def test_flow_step_reached_through_an_extra_box_is_not_exact() -> None:
    f = fidelity(chain(["load data", "clean", "split", "train", "evaluate"]), STEPS)
    assert f is not None and not f.exact and "4 in order, 2 of 3 links direct" in f.why


def test_flow_branches_and_loop_back_are_allowed() -> None:
    labels = ["start", "load data", "clean", "train", "evaluate", "deploy", "retrain"]
    edges = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (4, 6), (6, 3)]
    f = fidelity(chain(labels, edges), STEPS)
    assert f is not None and f.exact


def test_flow_unlabelled_boxes_match_nothing() -> None:
    f = fidelity(chain(["", "", "", ""]), STEPS)
    assert f is not None and not f.exact and f.score == 0.0


@pytest.mark.parametrize(
    ("step", "label", "same"),
    [
        ("train", "train model", True),
        ("train model", "Train", True),
        ("evaluate", "Evaluation", True),
        ("data colection", "data collection", True),
        ("deploy", "deployment", True),
        ("augment", "augmented", True),  # one stem whatever suffix came first
        ("deployments", "deploy", True),
        ("load data", "data", False),  # the label drops the step's first word
        ("load data", "clean data", False),
        ("conv 3x3 32", "conv 3x3 64", False),
        ("train", "", False),
    ],
)
def test_label_matching(step: str, label: str, same: bool) -> None:
    assert matches(step, label) is same


# ---- the request set, laid out -----------------------------------------------------------


def test_every_laid_out_request_spec_is_exact() -> None:
    """The layout of a spec is what the spec asks: spec, layout and fidelity agree."""
    checked = 0
    for line in REQUESTS.read_text(encoding="utf-8").splitlines():
        spec = extract_spec(json.loads(line)["text"])
        if spec is None:
            continue
        if spec.structure:  # stacks, data flows, graphs: their own structure, laid out
            f = fidelity(to_diagram(spec.structure).diagram, spec)
            assert f is not None and f.exact, (spec, f)
            checked += 1
            continue
        sketch = Sketch(layers=spec.layers) if spec.kind == "network" else Sketch(steps=spec.steps)
        if sketch.n_nodes > MAX_NODES:
            continue
        f = fidelity(layout(sketch), spec)
        assert f is not None and f.exact, (spec, f)
        checked += 1
    assert checked >= 40


def test_auxiliaries_and_pronouns_are_no_content_words() -> None:
    assert matches("is the loss nan?", "loss nan?") and matches("do they agree?", "agree?")
    assert not matches("is the loss nan?", "loss finite?")  # content still has to match
