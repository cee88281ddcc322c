"""Validation: each kind of problem from a small hand-built case, and none for a clean one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from diagrammer.cli import main
from engine.diagram.model import Diagram, Node
from engine.diagram.validate import validate


def node(i: int, x: int, y: int, targets: tuple[int, ...] = (), **kw: object) -> Node:
    style = {
        "shape": "round rectangle",
        "width": 120,
        "height": 50,
        "line_style": "solid arrow",
        "fill": (200, 230, 201),
        "line_color": (30, 30, 30),
    }
    return Node(i, x, y, targets=targets, **{**style, **kw})


def clean() -> Diagram:
    return Diagram(
        (node(0, 150, 300, (1,), label="load"), node(1, 500, 300, (2,)), node(2, 850, 300))
    )


def whats(diagram: Diagram) -> list[str]:
    return [p.what for p in validate(diagram)]


def test_clean_diagram_has_no_problems() -> None:
    assert validate(clean()) == []


def test_empty_diagram_is_a_problem() -> None:
    assert whats(Diagram()) == ["empty"]


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ({"shape": "hexagon"}, "unknown shape"),
        ({"line_style": "wavy line"}, "unknown line style"),
        ({"targets": (7,)}, "dangling target"),
        ({"targets": (1,)}, "self link"),
        ({"width": 0}, "bad size"),
        ({"height": -5}, "bad size"),
        ({"fill": (256, 0, 0)}, "bad colour"),
        ({"line_color": (0, -1, 0)}, "bad colour"),
        ({"x": 30}, "off canvas"),
        ({"y": 590}, "off canvas"),
        ({"label": "a label much too long to be read inside this node"}, "label does not fit"),
    ],
)
def test_each_problem_is_found_on_its_node(change: dict, what: str) -> None:
    nodes = list(clean().nodes)
    nodes[1] = nodes[1].moved(**change)
    problems = validate(Diagram(tuple(nodes)))
    assert [(p.what, p.node_id) for p in problems] == [(what, 1)]
    assert problems[0].why.startswith("node 1: ")


def test_duplicate_id_is_reported_on_the_later_node() -> None:
    d = Diagram((*clean().nodes, node(1, 500, 500)))
    problems = validate(d)
    assert [(p.what, p.node_id) for p in problems] == [("duplicate id", 1)]


def test_overlapping_boxes_are_one_problem_per_pair() -> None:
    d = Diagram((*clean().nodes, node(3, 540, 320), node(4, 560, 330)))
    assert sorted((p.what, p.node_id) for p in validate(d)) == [
        ("overlap", 1),
        ("overlap", 1),
        ("overlap", 3),
    ]


def test_touching_boxes_and_boxes_on_the_canvas_edge_are_fine() -> None:
    d = Diagram((node(0, 60, 25), node(1, 180, 25), node(2, 940, 575)))  # x 0..120, 120..240
    assert validate(d) == []


def test_bad_size_node_is_left_out_of_geometry_checks() -> None:
    d = Diagram((node(0, 500, 300, width=-50), node(1, 500, 300)))
    assert whats(d) == ["bad size"]


# --- `diagrammer check`: the problems and metrics as JSON ------------------------------------

NODE_LIST = """Here is the diagram:
[0, 150, 300, 'round rectangle', 120, 50, 'solid arrow', (200, 230, 201), (30, 30, 30), [1]]
[1, 500, 300, 'round rectangle', 120, 50, 'solid arrow', (200, 230, 201), (30, 30, 30), [2]]
[2, 990, 300, 'round rectangle', 120, 50, 'solid arrow', (200, 230, 201), (30, 30, 30), [9]]
"""


def check(tmp_path: Path, capsys: pytest.CaptureFixture, text: str, *extra: str) -> tuple:
    """(exit code, parsed stdout or None, stderr) of `diagrammer check` on `text`."""
    spec = tmp_path / "spec.txt"
    spec.write_text(text, encoding="utf-8")
    rc = main(["check", str(spec), *extra])
    out, err = capsys.readouterr()
    return rc, json.loads(out) if rc == 0 else None, err


def test_check_reports_problems_metrics_and_readability(tmp_path, capsys) -> None:
    rc, report, _ = check(tmp_path, capsys, NODE_LIST)
    assert rc == 0
    assert report["valid"] is False
    assert [(p["what"], p["node_id"]) for p in report["problems"]] == [
        ("off canvas", 2),
        ("dangling target", 2),
    ]
    assert report["metrics"]["nodes"] == 3
    assert report["metrics"]["dangling_targets"] == 1
    assert 0 < report["readability"] < 1
    assert report["fidelity"] is None


def test_check_accepts_a_sketch(tmp_path, capsys) -> None:
    rc, report, _ = check(tmp_path, capsys, "layers: 2 4 6 1\nshape: circle 44x44\n")
    assert (rc, report["valid"], report["problems"]) == (0, True, [])
    assert report["metrics"]["edges"] == 8 + 24 + 6
    assert report["readability"] > 0.85


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("just a sentence, no nodes", "no node list found"),
        ("x" * (64 * 1024 + 1), "64 KiB"),
    ],
)
def test_check_refuses_unreadable_input_in_one_line(tmp_path, capsys, text, reason) -> None:
    rc, _, err = check(tmp_path, capsys, text)
    assert rc == 2
    assert reason in err and err.count("\n") == 1 and "Traceback" not in err


def test_check_of_a_missing_file_exits_2(tmp_path, capsys) -> None:
    assert main(["check", str(tmp_path / "nope.txt")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_check_judges_fidelity_to_the_request(tmp_path, capsys) -> None:
    sketch = "layers: 2 4 6 1\n"
    asked = "an MLP with 2 inputs, hidden layers of 4 and 6, and 1 output"
    _, report, _ = check(tmp_path, capsys, sketch, "--request", asked)
    assert (report["fidelity"]["exact"], report["fidelity"]["score"]) == (True, 1.0)
    _, report, _ = check(tmp_path, capsys, sketch, "--request", "an MLP 3-5-2")
    assert report["fidelity"]["exact"] is False
    _, report, _ = check(tmp_path, capsys, sketch, "--request", "something pretty")
    assert report["fidelity"] is None
