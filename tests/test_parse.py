"""The node-list parser and its writer: golden cases, round-trip, limits, and fuzzing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.diagram.model import (
    LINE_STYLES,
    MAX_INPUT_BYTES,
    MAX_NODES,
    SHAPES,
    Diagram,
    DiagramError,
    Node,
    ParseResult,
)
from engine.diagram.parse import parse
from engine.diagram.text import to_text

DATA = Path(__file__).parent / "data"
DOCS = Path(__file__).parent.parent / "docs"
ORIGINAL = sorted((DATA / "original").glob("*.txt"))
GOLDEN = json.loads((DATA / "golden_parse" / "expected.json").read_text())
KINDS = {"bad node", "truncated", "not a node", "unexpected text"}
LINE = "[{id}, {x}, 300, 'circle', 40, 40, 'solid arrow', (255, 0, 0), (0, 0, 0), [{t}]]"
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def node(id: int, **kw: object) -> Node:
    base = dict(x=100, y=300, shape="circle", width=40, height=40, line_style="solid arrow")
    base.update(fill=(255, 0, 0), line_color=(0, 0, 0))
    base.update(kw)
    return Node(id=id, **base)  # type: ignore[arg-type]


def safe_parse(text: str) -> ParseResult | None:
    """parse(), where refusing the whole text is allowed and any other exception fails."""
    try:
        result = parse(text)
    except DiagramError:
        return None
    assert isinstance(result, ParseResult)
    last_line = text.count("\n") + 1
    for p in result.problems:
        assert p.what in KINDS and p.why
        assert p.line is not None and 1 <= p.line <= last_line
    return result


# --- the original project's answers and the golden cases ---


@pytest.mark.parametrize("path", ORIGINAL, ids=lambda p: p.name)
def test_original_answers_parse_without_problems(path: Path) -> None:
    text = path.read_text()
    result = parse(text)
    assert result.problems == []
    assert len(result.diagram.nodes) == text.count("'solid") + text.count("'dashed")
    ids = {n.id for n in result.diagram.nodes}
    assert all(t in ids for n in result.diagram.nodes for t in n.targets)


def test_original_style_line_reads_every_field() -> None:
    text = "[3, 150, 300, 'circle', 40, 40, 'solid arrow', (255, 0, 0), (0, 0, 0), [5, 6]]"
    assert parse(text).diagram == Diagram((node(3, x=150, targets=(5, 6)),))


def test_the_documented_example_parses_and_is_quoted_in_the_docs() -> None:
    text = (DOCS / "examples" / "mlp.txt").read_text()
    result = parse(text)
    assert result.problems == [] and len(result.diagram.nodes) == 6
    assert [n.label for n in result.diagram.nodes] == ["x1", "x2", "h1", "h2", "h3", "y"]
    assert to_text(result.diagram) == text
    assert text in (DOCS / "format.md").read_text()


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden(name: str) -> None:
    result = parse((DATA / "golden_parse" / name).read_text())
    assert [n.id for n in result.diagram.nodes] == GOLDEN[name]["ids"]
    assert [[p.what, p.line] for p in result.problems] == GOLDEN[name]["problems"]


def test_bad_lines_name_the_node_and_why() -> None:
    text = (DATA / "golden_parse" / "bad_lines.txt").read_text()
    lines = text.split("\n")
    for p in parse(text).problems:  # "[7.5, ..." has no id to name
        assert lines[p.line - 1].startswith(f"[{p.node_id if p.line != 8 else 7.5},")
    whys = {p.line: p.why for p in parse(text).problems}
    assert "9 fields" in whys[2] and "'left'" in whys[3] and "missing comma" in whys[4]
    assert "never closed" in whys[6] and "unterminated" in whys[11]


def test_floats_are_rounded_and_whole_floats_are_ids() -> None:
    nodes = parse((DATA / "golden_parse" / "floats.txt").read_text()).diagram.nodes
    assert (nodes[0].x, nodes[0].y, nodes[0].height, nodes[0].targets) == (100, 300, 40, (1,))
    assert (nodes[1].id, nodes[1].x, nodes[1].y) == (1, 500, 300)


def test_labels_read_quotes_and_escapes() -> None:
    nodes = parse((DATA / "golden_parse" / "labels.txt").read_text()).diagram.nodes
    assert [n.label for n in nodes] == ["load data", "it's clean", "say 'hi'\nthen stop", ""]


def test_names_are_normalised_and_unknown_ones_kept() -> None:
    nodes = parse((DATA / "golden_parse" / "bare_words_and_case.txt").read_text()).diagram.nodes
    assert [n.shape for n in nodes] == ["round rectangle", "round rectangle", "circle", "hexagon"]
    styles = ["solid arrow", "solid arrow", "dashed line", "wavy line"]
    assert [n.line_style for n in nodes] == styles
    assert nodes[2].label == "output"


def test_a_lone_target_and_aliases() -> None:
    text = "[0, 1, 2, 'Rounded Rectangle', 3, 4, arrow, [1, 2, 3], (4, 5, 6), 7]"
    (n,) = parse(text).diagram.nodes
    assert (n.shape, n.line_style, n.targets) == ("round rectangle", "solid arrow", (7,))


# --- limits ---


def test_too_big_input_is_refused() -> None:
    line = LINE.format(id=0, x=100, t="") + "\n"
    with pytest.raises(DiagramError, match="64 KiB"):
        parse(line * (MAX_INPUT_BYTES // len(line) + 1))


def test_too_many_nodes_are_refused_but_the_limit_itself_parses() -> None:
    lines = [LINE.format(id=i, x=100, t="") for i in range(MAX_NODES + 1)]
    assert len(parse("\n".join(lines[:MAX_NODES])).diagram.nodes) == MAX_NODES
    with pytest.raises(DiagramError, match=f"limit is {MAX_NODES}"):
        parse("\n".join(lines))


NOT_LISTS = ["", "   \n", "draw me a cat", "layers: 2 3 1", "[]", "[see above]"]


@pytest.mark.parametrize("text", NOT_LISTS)
def test_no_node_list_is_refused(text: str) -> None:
    with pytest.raises(DiagramError, match="no node list found"):
        parse(text)


def test_deep_nesting_and_non_text_are_refused() -> None:
    with pytest.raises(DiagramError, match="nested deeper"):
        parse("[" * 5000)
    with pytest.raises(DiagramError, match="expected text"):
        parse(b"[0]")  # type: ignore[arg-type]


# --- writing and round-trip ---


def test_to_text_writes_ten_fields_or_eleven_with_a_label() -> None:
    d = Diagram((node(3, targets=(5, 6)), node(5, label="it's\\here")))
    assert to_text(d) == (
        "[3, 100, 300, 'circle', 40, 40, 'solid arrow', (255, 0, 0), (0, 0, 0), [5, 6]]\n"
        "[5, 100, 300, 'circle', 40, 40, 'solid arrow', (255, 0, 0), (0, 0, 0), [], "
        "'it\\'s\\\\here']\n"
    )


@pytest.mark.parametrize("path", ORIGINAL, ids=lambda p: p.name)
def test_original_answers_round_trip(path: Path) -> None:
    d = parse(path.read_text()).diagram
    assert parse(to_text(d)) == ParseResult(d, [])


ints = st.integers(-2000, 2000)
colors = st.tuples(*[st.integers(-10, 300)] * 3)
nodes = st.builds(
    Node,
    id=st.integers(-5, 500),
    x=ints,
    y=ints,
    shape=st.sampled_from(SHAPES + ("hexagon",)),
    width=ints,
    height=ints,
    line_style=st.sampled_from(LINE_STYLES),
    fill=colors,
    line_color=colors,
    targets=st.lists(st.integers(-5, 500), max_size=6).map(tuple),
    label=st.text(max_size=30),
)


@FUZZ
@given(st.lists(nodes, min_size=1, max_size=12).map(tuple))
def test_round_trip(ns: tuple[Node, ...]) -> None:
    d = Diagram(ns)
    assert parse(to_text(d)) == ParseResult(d, [])


# --- fuzzing: nothing but DiagramError, and problems point at the right line ---


@FUZZ
@given(st.text(max_size=400))
def test_random_text_never_crashes(text: str) -> None:
    safe_parse(text)


@FUZZ
@given(st.text(alphabet="[](),'\"#\\ \n0123456789.-e abcsolid", max_size=300))
def test_random_bracket_soup_never_crashes(text: str) -> None:
    safe_parse(text)


SAMPLE = (DATA / "golden_parse" / "labels.txt").read_text()


@FUZZ
@given(st.data())
def test_mutated_valid_text_never_crashes(data: st.DataObject) -> None:
    text = data.draw(st.sampled_from([p.read_text() for p in ORIGINAL] + [SAMPLE]))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(text)))
        j = data.draw(st.integers(i, min(len(text), i + 20)))
        text = text[:i] + data.draw(st.text(alphabet="[](),'\" \n1a", max_size=5)) + text[j:]
    safe_parse(text)


TRUNCATED = [DATA / "golden_parse" / "labels.txt", DATA / "original" / "mlp_3_5_2_outer_list.txt"]


@pytest.mark.parametrize("path", TRUNCATED, ids=lambda p: p.name)
def test_every_truncation_keeps_the_complete_nodes(path: Path) -> None:
    text = path.read_text()
    full = parse(text).diagram.nodes
    ends, start = [], 0  # where each node's closing bracket ends
    for line in text.split("\n"):
        if "'" in line:
            ends.append(start + line.rindex("]") + 1)
        start += len(line) + 1
    for cut in range(len(text)):
        result = safe_parse(text[:cut])
        if result is None:
            continue
        assert result.diagram.nodes == full[: sum(e <= cut for e in ends)]
        assert [p.what for p in result.problems] in ([], ["truncated"])


@FUZZ
@given(st.data())
def test_a_broken_line_is_reported_at_its_line(data: st.DataObject) -> None:
    n = data.draw(st.integers(2, 8))
    lines = [LINE.format(id=i, x=100 + 50 * i, t=i + 1) for i in range(n)]
    bad = data.draw(st.integers(0, n - 1))
    lines[bad] = data.draw(
        st.sampled_from(
            [
                lines[bad].replace(", 300,", ", top,"),  # a word for a number
                lines[bad].replace(", 300,", ""),  # a field missing
                lines[bad].replace("(255, 0, 0)", "(255, 0)"),  # a short colour
                lines[bad].replace(", 40, 40", ", 40 40"),  # a missing comma
                lines[bad].replace("'circle'", "'circle"),  # an unterminated string
                lines[bad][:-1],  # the closing bracket missing
            ]
        )
    )
    prose = data.draw(st.lists(st.sampled_from(["", "Here you go:", "```", "  "]), min_size=n))
    text = "\n".join(p + "\n" + line for p, line in zip(prose, lines, strict=False))
    result = parse(text)
    (problem,) = result.problems
    assert text.split("\n")[problem.line - 1] == lines[bad]
    assert problem.node_id == bad
    assert [nd.id for nd in result.diagram.nodes] == [i for i in range(n) if i != bad]
