"""Synthetic SFT data: clean, exact answers; human-sounding, varied requests; honest hints."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from diagrammer.cli import main
from engine.diagram.fidelity import fidelity
from engine.diagram.layout import layout
from engine.diagram.metrics import metrics, severities
from engine.diagram.parse import parse
from engine.diagram.sketch import parse_sketch, sketch_to_text
from engine.diagram.spec import extract_spec
from engine.diagram.validate import validate
from training.data import blocks, flows, networks
from training.data.styles import FILLS, LINES
from training.data.synth import KINDS, Example, answer, examples

REQUESTS = Path(__file__).parent / "data" / "requests.jsonl"
N_ANSWERS = 300  # per kind
N_EXAMPLES = 300


@pytest.fixture(scope="module")
def sample() -> list[Example]:
    return list(examples(N_EXAMPLES, seed=11))


@pytest.mark.parametrize("kind", KINDS)
def test_answers_are_clean_and_exact(kind: str) -> None:
    for seed in range(N_ANSWERS):
        a = answer(random.Random(seed), kind)
        d = a.diagram
        assert validate(d) == [], (seed, sketch_to_text(a.sketch))
        m = metrics(d)
        assert m.edge_crossings == m.k22_crossings and m.edges_through_nodes == 0
        defects = {k for k, v in severities(m).items() if v > 0}
        assert defects <= {"k22_crossings"}  # full connections between layers cross, unavoidably
        assert fidelity(d, a.draft.spec).exact
        if kind == "mlp":  # nodes of a layer are ordered along it
            for i, n in enumerate(d.nodes[:-1]):
                nxt = d.nodes[i + 1]
                if n.targets == nxt.targets:
                    assert (
                        (n.y, n.x) < (nxt.y, nxt.x)
                        if a.sketch.direction == "right"
                        else (n.x, n.y) < (nxt.x, nxt.y)
                    )


def test_every_part_of_an_example_reads_back(sample: list[Example]) -> None:
    for e in sample:
        row = e.as_json()
        sketch, problems = parse_sketch(row["sketch"])
        assert problems == [] and sketch == e.sketch
        assert layout(sketch) == e.diagram
        parsed = parse(row["diagram"])
        assert parsed.problems == [] and parsed.diagram == e.diagram
        assert row["spec"]["kind"] == e.spec.kind
        assert set(row) >= {"description", "sketch", "diagram", "spec", "kind", "style"}


def test_the_spec_extractor_is_never_misled(sample: list[Example]) -> None:
    found = Counter()
    for e in sample:
        spec = extract_spec(e.description)
        if spec is None:
            continue
        if spec == e.spec:
            found["equal"] += 1
        else:  # a flow named in the user's own words: it must still fit the answer exactly
            assert spec.kind == e.spec.kind == "flow", e.description
            assert fidelity(e.diagram, spec).exact, e.description
            found["fits"] += 1
    share = (found["equal"] + found["fits"]) / len(sample)
    print(f"extract_spec finds the spec for {share:.0%} of requests ({dict(found)})")
    assert share > 0.5


def test_mlps_are_never_called_cnns(sample: list[Example]) -> None:
    for e in sample:
        if e.kind == "mlp":
            assert not re.search(r"\b(cnn|conv\w*|convolutional)\b", e.description, re.I)


def test_style_hints_are_in_the_request_and_honoured(sample: list[Example]) -> None:
    hinted = 0
    for e in sample:
        assert (e.sketch.direction, e.sketch.shape, e.sketch.fill) == (
            e.style.direction,
            e.style.shape,
            e.sketch.fill,
        )
        assert (e.sketch.line_style, e.sketch.line_color) == (
            e.style.line_style,
            e.style.line_color,
        )
        for hint in e.style.hints:
            hinted += 1
            words = [w for w in re.findall(r"[a-z]+", hint.lower()) if len(w) > 3]
            text = e.description.lower()
            assert sum(w in text for w in words) >= len(words) - 1, (hint, e.description)  # a typo
        if e.style.labels == "yes":
            assert e.sketch.labels
        if e.style.labels == "no":
            assert not e.sketch.labels
    assert hinted > len(sample) / 4


def test_styles_vary_and_read_well(sample: list[Example]) -> None:
    assert len({e.sketch.fill for e in sample}) > 15
    assert len({(e.sketch.shape, e.sketch.line_style, e.sketch.direction) for e in sample}) > 12
    for e in sample:
        assert metrics(e.diagram).line_contrast >= 4.5
    fills = {c for light, dark in FILLS.values() for c in (*light, *dark)}
    lines = {c for shades in LINES.values() for c in shades}
    assert {e.sketch.fill for e in sample} <= fills
    assert {e.sketch.line_color for e in sample} <= lines


def test_requests_vary(sample: list[Example]) -> None:
    assert len(networks.TEMPLATES) >= 30
    assert len(blocks.LISTED) + len(blocks.PROSE) >= 30
    assert len(set(flows.KINDS)) == 3
    kinds = Counter(e.kind for e in sample)
    assert set(kinds) == set(KINDS)
    templates = Counter(e.template for e in sample if e.kind == "mlp")
    assert len(templates) >= 25
    assert len({e.description for e in sample}) == len(sample)
    assert any(re.search(r"\b(one|two|three|four|five|six)\b", e.description) for e in sample)
    lengths = sorted(len(e.description) for e in sample)
    assert lengths[0] < 40 and lengths[-1] > 200


def test_no_held_out_request_is_copied(sample: list[Example]) -> None:
    if not REQUESTS.is_file():
        pytest.skip("no held-out requests")
    norm = lambda s: " ".join(re.findall(r"[a-z0-9]+", s.lower()))  # noqa: E731
    rows = [json.loads(line) for line in REQUESTS.read_text().splitlines() if line.strip()]
    held = {norm(row["text"]) for row in rows}
    assert not held & {norm(e.description) for e in sample}


def test_deterministic_by_seed() -> None:
    a = [e.as_json() for e in examples(15, seed=3)]
    b = [e.as_json() for e in examples(15, seed=3)]
    c = [e.as_json() for e in examples(15, seed=4)]
    assert a == b and a != c


def test_data_sft_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sft.jsonl"
    assert main(["data", "sft", "--n", "12", "--seed", "1", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 12 and all(r["sketch"] and r["diagram"] for r in rows)
    assert "wrote 12 examples" in capsys.readouterr().out
    assert main(["data", "sft", "--n", "0", "--out", str(out)]) == 2
