"""Sketch v2 SFT data: every answer parses cleanly and lays out, hints match answers, labels
come from the request, answers stay short; and the per-kind dev bench runs end to end."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.bench import quality
from engine.bench.faithful import GENERIC
from engine.diagram.blocks import kind_of
from engine.diagram.layout import layout
from engine.diagram.sketch import parse_sketch, sketch_to_text, structure_text
from engine.diagram.spec import extract_spec
from engine.diagram.validate import validate
from engine.llm.generate import Generation
from training.data.synth import MAX_ANSWER_CHARS, V2_KINDS, Example, example_v2, examples

N = 40  # per kind
DEV = Path(__file__).parents[1] / "engine" / "bench" / "data" / "dev_v2.jsonl"
V2_ONLY = ("stack", "dataflow", "graph", "named")
FIELD = {"avg", "max", "pool", "conv", "dense", "norm", "batch"}  # the stack reader's words


@pytest.fixture(scope="module")
def per_kind() -> dict[str, list[Example]]:
    return {k: [example_v2(random.Random(500 + i), k) for i in range(N)] for k in V2_KINDS}


@pytest.mark.parametrize("kind", V2_KINDS)
def test_every_target_parses_without_problems_and_lays_out(per_kind, kind: str) -> None:
    for e in per_kind[kind]:
        text = sketch_to_text(e.sketch)
        sketch, problems = parse_sketch(text)
        assert sketch is not None and problems == [], (e.description, text, problems)
        assert sketch_to_text(sketch) == text
        diagram = layout(sketch)
        assert diagram.nodes and validate(diagram) == [], (e.description, text)
        assert len(text) <= MAX_ANSWER_CHARS


def test_v2_answers_use_v2(per_kind) -> None:
    assert all(e.sketch.stack for e in per_kind["stack"])
    assert all(e.sketch.data for e in per_kind["dataflow"])
    graphs = per_kind["graph"]
    assert any("[yes]" in sketch_to_text(e.sketch) for e in graphs)
    assert any(any(a > b for a, b in e.sketch.edges) for e in graphs)  # loops back
    assert any(e.sketch.groups for e in graphs) or any(e.sketch.stack for e in graphs)


def test_hints_state_the_answer(per_kind) -> None:
    """Where the readers find a stack or data flow, it is exactly the answer's structure."""
    for kind in ("stack", "dataflow"):
        for e in per_kind[kind]:
            found = extract_spec(e.description)
            if found is None:
                continue
            assert found.kind == kind
            assert (
                found.structure
                == structure_text(parse_sketch(sketch_to_text(e.sketch))[0]).split("\ngroups")[0]
            ), e.description


def test_labels_come_from_the_request(per_kind) -> None:
    """Every word of a box is the request's, or the field's word for a block kind that the
    request names otherwise ("two classes" is the block `output 2`)."""
    for kind in ("stack", "dataflow", "graph"):
        for e in per_kind[kind]:
            low = e.description.lower()
            for name in e.sketch.steps:
                for word in re.findall(r"[a-z][a-z-]+", name.split(" #")[0]):
                    field = word in GENERIC | FIELD or kind_of(word) != "step"
                    assert word in low or field, (word, e.description)
            for label in e.sketch.edge_labels:
                assert not label or label in ("yes", "no") or label in low


def test_kinds_and_templates_vary() -> None:
    sample = list(examples(240, seed=5, version=2))
    kinds = Counter(e.kind for e in sample)
    assert set(kinds) == set(V2_KINDS)
    for kind in V2_ONLY:
        assert len({e.template for e in sample if e.kind == kind}) >= 2, kind
    assert len({e.description for e in sample}) == len(sample)
    assert any("\n" in e.description for e in sample)  # bullets
    assert any(" then " in e.description.lower() for e in sample)


def test_the_original_projects_styles_are_taught() -> None:
    made = [example_v2(random.Random(900 + i), "stack") for i in range(80)]
    assert any("(output:" in e.description for e in made)
    flows = [example_v2(random.Random(900 + i), "dataflow") for i in range(80)]
    assert any("contains:" in e.description for e in flows)


def test_no_dev_request_is_copied() -> None:
    if not DEV.is_file():
        pytest.skip("no dev set")
    norm = lambda s: " ".join(re.findall(r"[a-z0-9]+", s.lower()))  # noqa: E731
    held = {norm(json.loads(line)["text"]) for line in DEV.read_text().splitlines() if line}
    assert not held & {norm(e.description) for e in examples(300, seed=2, version=2)}


def test_v2_is_deterministic_and_v1_unchanged() -> None:
    a = [e.as_json() for e in examples(12, seed=3, version=2)]
    assert a == [e.as_json() for e in examples(12, seed=3, version=2)]
    assert [e.as_json() for e in examples(6, seed=3)] != a[:6]


def test_dev_bench_per_kind_with_a_stub_model() -> None:
    """run_dev judges the top-1 and any-of-N per kind, refusals included."""
    rows = quality.read_dev(DEV)
    pick = list({r["kind"]: r for r in rows}.values())
    lm = SimpleNamespace(
        tokenizer=SimpleNamespace(chat_template=None, bos_token=""), name="stub", adapter=None
    )

    def generator(lm, prompts, n, sampling):
        text = "direction: right\nshape: round rectangle 150x50"
        return [[Generation(text, 5, True, 0.0) for _ in range(n)] for _ in prompts]

    got, details = quality.run_dev(lm, pick, "stub", n=2, generator=generator)
    assert {r.kind for r in got} == {r["kind"] for r in pick}
    assert len(details) == len(pick)
    for r in got:
        assert 0.0 <= r.faithful_top1 <= r.faithful_any <= 1.0
        assert r.tokens in (5.0, 0.0) or r.requests == r.refused
    assert "| faithful_top1 |" in quality.kind_markdown(got)
    for d in (d for d in details if not d["refused"]):  # every candidate, in rank order
        assert len(d["candidates"]) == len(d["faithful"]) == 2
        assert d["candidates"][0] == d["top1_text"] and d["faithful"][0] == d["top1"]
        assert d["any"] == any(d["faithful"])
