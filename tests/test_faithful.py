"""The dev set's judge (engine/bench/faithful.py) on small hand-built diagrams, and the dev set
itself (engine/bench/data/dev_v2.jsonl): well-formed, and every gold drawable as a faithful
diagram without invented labels."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import gold_sets
import pytest

from engine.bench.faithful import KINDS, judge
from engine.diagram.model import Diagram
from engine.diagram.parse import parse
from engine.diagram.read import to_diagram

DEV = Path(__file__).resolve().parents[1] / "engine" / "bench" / "data" / "dev_v2.jsonl"
AT_LEAST = {
    "network": 50,
    "steps": 40,
    "stack": 70,
    "dataflow": 60,
    "named": 60,
    "structure": 30,
    "refuse": 10,
}


def d(sketch: str) -> Diagram:
    return to_diagram(sketch).diagram


# ---- network -----------------------------------------------------------------------------


def test_network_sizes_exact() -> None:
    assert judge(d("layers: 2 4 6 1"), "network", {"layers": [2, 4, 6, 1]}, False).faithful
    wrong = judge(d("layers: 2 4 5 1"), "network", {"layers": [2, 4, 6, 1]}, False)
    assert not wrong.faithful and "asked 2-4-6-1" in wrong.why


def test_network_collapsed_layer_counts_as_stated() -> None:
    assert judge(d("layers: 784 128 10"), "network", {"layers": [784, 128, 10]}, False).faithful


# ---- steps -------------------------------------------------------------------------------

STEPS = {"steps": ["load data", "clean", "train model", "evaluate"]}
STEPS_TEXT = "flowchart: load the data, clean it, train a model, evaluate it"


def test_steps_in_order() -> None:
    v = judge(d("steps: load data | clean | train model | evaluate"), "steps", STEPS, False)
    assert v.faithful and v.labels == 4


def test_steps_wrong_order_or_missing() -> None:
    swapped = judge(d("steps: load data | train model | clean | evaluate"), "steps", STEPS, False)
    assert not swapped.faithful and "not as a chain" in swapped.why
    missing = judge(d("steps: load data | train model | evaluate"), "steps", STEPS, False)
    assert not missing.faithful and "clean" in missing.why


def test_steps_extra_box_between_breaks_the_chain_but_pills_do_not() -> None:
    extra = d("steps: load data | clean | normalize features | train model | evaluate")
    assert not judge(extra, "steps", STEPS, False).faithful
    pill = d("steps: load data | clean | train model | evaluate\nedges: 1>2 2>3[then] 3>4")
    assert judge(pill, "steps", STEPS, False).faithful


def test_typos_match_fuzzily() -> None:
    v = judge(d("steps: load data | clean | train model | evalute"), "steps", STEPS, False)
    assert v.faithful


# ---- stack -------------------------------------------------------------------------------

STACK = {"blocks": ["input", "conv", "pool", "conv", "pool", "dense 512", "dense 64", "output 2"]}
STACK_SKETCH = (
    "blocks: input 224x224 | conv 3x3 @222x222 | max pool 2x2 | conv 3x3 @109x109 | "
    "max pool 2x2 | dense 512 | dense 64 | output 2"
)


def test_stack_kinds_in_order_with_units() -> None:
    v = judge(d(STACK_SKETCH), "stack", STACK, False)
    assert v.faithful, v.why


def test_stack_wrong_order() -> None:
    sketch = STACK_SKETCH.replace("conv 3x3 @222x222 | max pool 2x2", "max pool 2x2 | conv 3x3")
    v = judge(d(sketch), "stack", STACK, False)
    assert not v.faithful and "asked" in v.why


def test_stack_wrong_dense_size() -> None:
    v = judge(d(STACK_SKETCH.replace("dense 64", "dense 32")), "stack", STACK, False)
    assert not v.faithful and "dense 64" in v.why


def test_stack_extra_block_is_wrong() -> None:
    v = judge(
        d(STACK_SKETCH.replace("| dense 512", "| dropout 0.5 | dense 512")), "stack", STACK, False
    )
    assert not v.faithful


def test_stack_reads_through_skips_and_frames() -> None:
    sketch = (
        "blocks: input 32x32x3 | conv 3x3 16 | relu | conv 3x3 16 | add | dense 10 | output 10\n"
        "edges: 1>2 2>3 3>4 4>5 5>6 6>7 2>5[skip]\ngroups: 2-5 res block"
    )
    gold = {"blocks": ["input", "conv", "activation", "conv", "merge", "dense 10", "output 10"]}
    diagram = d(sketch)
    assert diagram.frames() and any(n.label == "skip" for n in diagram.nodes)
    v = judge(diagram, "stack", gold, False, text="32x32 input, conv 3x3 16, relu, conv, add")
    assert v.faithful and v.labels == 7  # the frame and the pill are not counted


# ---- dataflow ----------------------------------------------------------------------------

FLOW = {
    "data": ["picture", "text", "matrices", "chart"],
    "process": ["python file", "pca"],
    "edges": [
        ["picture", "python file"],
        ["python file", "text"],
        ["python file", "matrices"],
        ["matrices", "pca"],
        ["pca", "chart"],
    ],
}
FLOW_TEXT = (
    "LLM process that contains: - a python file that processes a picture and outputs text "
    "and matrices - a PCA converts the matrices into a chart"
)
FLOW_SKETCH = "steps: [picture] | python file | [text] | [matrices] | pca | [chart]\n"


def test_dataflow_as_asked() -> None:
    v = judge(
        d(FLOW_SKETCH + "edges: 1>2 2>3 2>4 4>5 5>6"), "dataflow", FLOW, False, text=FLOW_TEXT
    )
    assert v.faithful and v.invented == 0 and v.labels == 6


def test_dataflow_missing_edge() -> None:
    v = judge(d(FLOW_SKETCH + "edges: 1>2 2>3 2>4 5>6"), "dataflow", FLOW, False)
    assert not v.faithful and "matrices>pca" in v.why


def test_dataflow_invented_node() -> None:
    sketch = "steps: [picture] | python file | [text] | [matrices] | pca | [chart] | dashboard\n"
    v = judge(d(sketch + "edges: 1>2 2>3 2>4 4>5 5>6 6>7"), "dataflow", FLOW, False, text=FLOW_TEXT)
    assert not v.faithful and "dashboard" in v.why and v.invented == 1


def test_dataflow_edge_through_a_pill() -> None:
    v = judge(d(FLOW_SKETCH + "edges: 1>2 2>3 2>4 4>5[in] 5>6"), "dataflow", FLOW, False)
    assert v.faithful, v.why


@pytest.mark.parametrize("fill", ["255 255 255", "255 224 178"])
def test_white_round_steps_are_steps_not_label_pills(fill: str) -> None:
    """Steps drawn in the label look (white round rectangles) are still steps."""
    style = f"shape: round rectangle 150x50\nfill: {fill}"
    v = judge(d(FLOW_SKETCH + "edges: 1>2 2>3 2>4 4>5 5>6\n" + style), "dataflow", FLOW, False)
    assert v.faithful, v.why
    longer = FLOW_SKETCH.replace("| pca |", "| run pca |")  # the gold's words and more
    v = judge(d(longer + "edges: 1>2 2>3 2>4 4>5 5>6\n" + style), "dataflow", FLOW, False)
    assert v.faithful, v.why


# ---- named -------------------------------------------------------------------------------

LENET = (
    "blocks: input 32x32 | conv 5x5 6 | avg pool | conv 5x5 16 | avg pool | dense 120 | "
    "dense 84 | output 10"
)


def test_named_against_the_entry() -> None:
    gold = {"entry": "LeNet-5"}
    v = judge(d(LENET), "named", gold, False, expected=d(LENET), text="draw LeNet-5")
    assert v.faithful and v.invented == 0
    short = LENET.replace("| dense 84 ", "")
    assert not judge(d(short), "named", gold, False, expected=d(LENET)).faithful
    assert not judge(d(LENET), "named", gold, False).faithful  # no expected: no judgement


def test_named_classes_and_input() -> None:
    gold = {"entry": "LeNet-5", "classes": 3, "input": "28x28"}
    ours = LENET.replace("output 10", "output 3").replace("32x32", "28x28")
    assert judge(d(ours), "named", gold, False, expected=d(LENET)).faithful
    wrong = judge(d(LENET.replace("32x32", "28x28")), "named", gold, False, expected=d(LENET))
    assert not wrong.faithful and "asked for 3 classes" in wrong.why
    no_input = judge(
        d(LENET.replace("output 10", "output 3")), "named", gold, False, expected=d(LENET)
    )
    assert not no_input.faithful and "28x28" in no_input.why


def test_named_flow_entry_compares_labels() -> None:
    rag = "steps: question | retrieve documents | build prompt | llm | answer"
    gold = {"entry": "RAG"}
    assert judge(d(rag), "named", gold, False, expected=d(rag)).faithful
    other = "steps: question | build prompt | retrieve documents | llm | answer"
    assert not judge(d(other), "named", gold, False, expected=d(rag)).faithful


@pytest.mark.parametrize(
    "style", ["", "\nshape: rectangle 140x50\nfill: 255 224 178", "\nshape: circle 80x80"]
)
def test_a_branch_label_sharing_words_with_a_step_is_still_a_label(style: str) -> None:
    """'significant' after 'significance test' is the branch's label, drawn as one (a white
    round rectangle unlike the steps), whatever the steps' style: the entry and its drawing
    read alike."""
    ab = (
        "steps: users | split | significance test | ship B | keep A\n"
        "edges: 1>2 2>3 3>4[significant] 3>5[not]" + style
    )
    v = judge(d(ab), "named", {"entry": "A/B"}, False, expected=d(ab), text="draw A/B testing")
    assert v.faithful, v.why


# ---- structure ---------------------------------------------------------------------------


def test_structure_skip() -> None:
    gold = {"steps": ["input", "conv", "relu", "add"], "skip": [["input", "add"]]}
    chain = "steps: input | conv | relu | conv #2 | add"
    assert judge(
        d(chain + "\nedges: 1>2 2>3 3>4 4>5 1>5[identity]"), "structure", gold, False
    ).faithful
    missing = judge(d(chain), "structure", gold, False)
    assert not missing.faithful and "no skip input > add" in missing.why


def test_structure_branch_and_loop() -> None:
    gold = {
        "steps": ["train", "evaluate", "deploy", "tune"],
        "edges": [["train", "evaluate"]],
        "branch": [["evaluate", "deploy", "good"], ["evaluate", "tune", "else"]],
        "loop": [["tune", "train"]],
    }
    text = "train, evaluate; if good deploy, else tune and retrain"
    steps = "steps: train | evaluate | deploy | tune\n"
    right = judge(
        d(steps + "edges: 1>2 2>3[good] 2>4[else] 4>1"), "structure", gold, False, text=text
    )
    assert right.faithful and right.invented == 0 and right.labels == 4, right.why
    no_loop = judge(d(steps + "edges: 1>2 2>3[good] 2>4[else]"), "structure", gold, False)
    assert not no_loop.faithful and "no loop tune > train" in no_loop.why
    gold_loop_only = {**gold, "edges": []}
    forward = d("steps: tune | train | evaluate | deploy\nedges: 1>2 2>3 3>4[good] 3>1[else]")
    assert judge(forward, "structure", gold_loop_only, False).faithful  # tune>train closes a cycle
    forward = d("steps: tune | train | evaluate | deploy\nedges: 1>2 2>3 3>4[good]")
    v = judge(forward, "structure", gold_loop_only, False)
    assert not v.faithful and "no loop tune > train" in v.why  # an edge forward, no cycle
    unlabelled = judge(d(steps + "edges: 1>2 2>3 2>4[else] 4>1"), "structure", gold, False)
    assert not unlabelled.faithful and "[good]" in unlabelled.why


def test_a_branch_label_is_read_as_its_drawn_question_asks() -> None:
    """The matcher takes "episode not done?" and "episode done?" for one step, so a label
    swaps when only one of the two questions is negated; the same label must still match."""
    gold = {
        "steps": ["act", "episode not done?", "update"],
        "branch": [["episode not done?", "act", "yes"], ["episode not done?", "update", "no"]],
    }
    steps = "steps: act | episode done? | update\n"
    flipped = judge(d(steps + "edges: 1>2 2>1[no] 2>3[yes]"), "structure", gold, False)
    assert flipped.faithful, flipped.why
    wrong = judge(d(steps + "edges: 1>2 2>1[yes] 2>3[no]"), "structure", gold, False)
    assert not wrong.faithful and "[yes]" in wrong.why
    as_said = "steps: act | episode not done? | update\nedges: 1>2 2>1[yes] 2>3[no]"
    assert judge(d(as_said), "structure", gold, False).faithful


def test_structure_loop_must_close_a_cycle() -> None:
    gold = {"steps": ["train", "validate"], "loop": [["validate", "train"]]}
    assert judge(d("steps: train | validate\nedges: 1>2 2>1"), "structure", gold, False).faithful
    one_way = d("steps: validate | train")
    assert not judge(one_way, "structure", gold, False).faithful


def test_bend_points_in_a_node_list_are_read_through() -> None:
    style = "'solid arrow', (200, 230, 201), (0, 0, 0)"
    text = "\n".join(
        [
            f"[0, 100, 300, 'round rectangle', 150, 50, {style}, [1], 'train']",
            f"[1, 300, 300, 'round rectangle', 150, 50, {style}, [2], 'validate']",
            "[2, 300, 400, 'circle', 6, 6, 'solid line', (0, 0, 0), (0, 0, 0), [3]]",
            "[3, 100, 400, 'circle', 6, 6, 'solid line', (0, 0, 0), (0, 0, 0), [0]]",
        ]
    )
    gold = {"steps": ["train", "validate"], "loop": [["validate", "train"]]}
    v = judge(parse(text).diagram, "structure", gold, False)
    assert v.faithful and v.labels == 2


# ---- refuse, refusals, invented ----------------------------------------------------------


def test_refuse() -> None:
    assert judge(None, "refuse", {}, True).faithful
    assert judge(None, "refuse", {}, False).faithful
    drawn = judge(d("steps: my | feelings"), "refuse", {}, False, text="draw my feelings")
    assert not drawn.faithful and drawn.invented == 0


def test_a_refusal_of_a_drawable_request_is_not_faithful() -> None:
    assert not judge(None, "steps", STEPS, True).faithful
    assert not judge(d("layers: 2 1"), "network", {"layers": [2, 1]}, True).faithful


def test_invented_labels() -> None:
    sketch = "steps: load data | clean | train model | evaluate | deploy to cloud"
    v = judge(d(sketch), "steps", STEPS, False, text=STEPS_TEXT)
    assert v.faithful and v.invented == 1 and v.labels == 5
    generic = judge(
        d("steps: start | load data | clean | train model | evaluate | end"),
        "steps",
        STEPS,
        False,
        text=STEPS_TEXT,
    )
    assert generic.invented == 0


def test_unknown_kind() -> None:
    with pytest.raises(ValueError):
        judge(None, "poem", {}, False)


# ---- the dev set -------------------------------------------------------------------------


def rows() -> list[dict]:
    return gold_sets.rows(DEV)


def test_dev_set_is_well_formed() -> None:
    data = rows()
    counts = Counter(r["kind"] for r in data)
    assert set(counts) == set(KINDS)
    for kind, least in AT_LEAST.items():
        assert counts[kind] >= least, kind
    assert len({r["text"] for r in data}) == len(data)  # no duplicates
    for r in data:
        gold_sets.check_row(r)


def test_every_gold_can_be_drawn_faithfully() -> None:
    """Each gold is satisfiable, and its names are the request's own words (no invention)."""
    assert gold_sets.undrawable(rows()) == []


def test_a_question_the_gold_does_not_name_carries_the_branch_it_states() -> None:
    gold = {
        "steps": ["validate schema", "load", "alert"],
        "branch": [["validate schema", "load", "yes"], ["validate schema", "alert", "no"]],
    }
    asked = "steps: validate schema | schema ok? | load | alert\nedges: 1>2 2>3[yes] 2>4[no]"
    assert judge(d(asked), "structure", gold, False).faithful
    wrong = "steps: validate schema | schema ok? | load | alert\nedges: 1>2 2>3[no] 2>4[yes]"
    assert not judge(d(wrong), "structure", gold, False).faithful
