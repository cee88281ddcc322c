"""Whole synthetic SFT examples: a request, the sketch that answers it, and its checks.

Each example is built from its own seed, so `examples(n, seed)` is deterministic and any one
example can be rebuilt alone. An example is kept only when its answer is clean: the sketch
lays out with no validation problem at all (overlaps, off-canvas, label fit included), no
avoidable crossing, no edge through a node, and exact fidelity to its own spec. Its request
is re-worded until engine/diagram/spec.py reads it right or not at all: a wrong hint would
teach the model to distrust hints.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace

from engine.diagram.fidelity import fidelity
from engine.diagram.label_fit import fit_label
from engine.diagram.layout import layout
from engine.diagram.metrics import metrics
from engine.diagram.model import Diagram, Spec
from engine.diagram.sketch import Sketch, sketch_to_text
from engine.diagram.spec import extract_spec
from engine.diagram.text import to_text
from engine.diagram.validate import validate
from training.data.blocks import layer_blocks
from training.data.flows import process_flow
from training.data.networks import describe_network, network_layers
from training.data.styles import Style, choose_style
from training.data.wording import NUMBER_WORDS, Words, finish

KINDS = ("mlp", "blocks", "flow")
KIND_WEIGHTS = (4, 3, 3)
MAX_TRIES = 50
REWORDINGS = 4  # networks: new wordings of the same layers before a new network


@dataclass(frozen=True)
class Example:
    description: str
    sketch: Sketch
    diagram: Diagram
    spec: Spec
    kind: str
    style: Style
    template: str
    hint_found: bool  # extract_spec found the spec (or one the answer satisfies)

    def as_json(self) -> dict[str, object]:
        spec: dict[str, object] = {"kind": self.spec.kind}
        if self.spec.kind == "network":
            spec["layers"] = list(self.spec.layers)
        else:
            spec["steps"] = list(self.spec.steps)
        return {
            "description": self.description,
            "sketch": sketch_to_text(self.sketch),
            "diagram": to_text(self.diagram),
            "spec": spec,
            "kind": self.kind,
            "style": self.style.as_dict(),
            "template": self.template,
        }


@dataclass(frozen=True)
class _Draft:
    """A structure and one wording of its request (before style hints)."""

    kind: str
    spec: Spec
    layers: tuple[int, ...] = ()
    steps: tuple[str, ...] = ()
    edges: tuple[tuple[int, int], ...] = ()
    text: str = ""
    template: str = ""


def examples(n: int, seed: int) -> Iterator[Example]:
    for i in range(n):
        yield example(random.Random(seed * 1_000_003 + i))


@dataclass(frozen=True)
class Answer:
    """A structure with its request draft, and the clean sketch and diagram that answer it."""

    draft: _Draft
    style: Style
    sketch: Sketch
    diagram: Diagram


def answer(rng: random.Random, kind: str) -> Answer:
    """A clean answer of this kind (no request checks yet): retries until the layout is clean."""
    for _ in range(MAX_TRIES):
        draft = _draft(kind, Words(rng))
        style = choose_style(rng, "network" if kind == "mlp" else "flow")
        sketch = _sketch(draft, style, rng)
        if sketch is not None:
            diagram = layout(sketch)
            if _clean(diagram):
                return Answer(draft, style, sketch, diagram)
    raise RuntimeError(f"no clean {kind} answer in {MAX_TRIES} tries")  # pragma: no cover


def example(rng: random.Random) -> Example:
    """One clean example whose request engine/diagram/spec.py reads right or not at all."""
    kind = rng.choices(KINDS, weights=KIND_WEIGHTS)[0]
    for _ in range(MAX_TRIES):
        a = answer(rng, kind)
        draft = a.draft
        for _ in range(REWORDINGS if kind == "mlp" else 1):
            text = _request(draft, a.style, Words(rng))
            found = _hint(text, a.diagram, draft.spec)
            if found is not None:
                return Example(
                    text, a.sketch, a.diagram, draft.spec, kind, a.style, draft.template, found
                )
            draft = replace(draft, **_reword(draft, Words(rng)))
    raise RuntimeError(f"no {kind} request read right in {MAX_TRIES} tries")  # pragma: no cover


def _draft(kind: str, w: Words) -> _Draft:
    if kind == "mlp":
        layers = network_layers(w.rng)
        text, template = describe_network(layers, w)
        return _Draft(
            kind, Spec("network", layers=layers), layers=layers, text=text, template=template
        )
    if kind == "blocks":
        b = layer_blocks(w)
        spec = Spec("flow", steps=b.steps)
        return _Draft(
            kind, spec, steps=b.steps, edges=b.edges, text=b.description, template=b.template
        )
    f = process_flow(w)
    spec = Spec("flow", steps=f.trunk)
    return _Draft(kind, spec, steps=f.steps, edges=f.edges, text=f.description, template=f.template)


def _reword(draft: _Draft, w: Words) -> dict[str, str]:
    """Another wording of the same network (flows and blocks draw a new structure instead)."""
    if draft.kind == "mlp":
        text, template = describe_network(draft.layers, w)
        return {"text": text, "template": template}
    return {}


def _hidden_names(n: int) -> list[str]:
    """'h' for one hidden layer, 'h1', 'h2', ... for several."""
    return ["h"] if n == 3 else [f"h{i}" for i in range(1, n - 1)]


LABEL_SETS = (  # per network of n layers: input, one per hidden layer, output
    lambda n: ["input", *["hidden"] * (n - 2), "output"],
    lambda n: ["in", *_hidden_names(n), "out"],
    lambda n: ["x", *_hidden_names(n), "y"],
    lambda n: ["x", *["h"] * (n - 2), "y"],
)


def _sketch(draft: _Draft, style: Style, rng: random.Random) -> Sketch | None:
    """The answer's sketch in this style, sized so that its labels fit; None if they cannot."""
    base = Sketch(
        layers=draft.layers,
        steps=draft.steps,
        edges=draft.edges,
        direction=style.direction,
        shape=style.shape,
        size=style.size,
        fill=style.fill,
        line_style=style.line_style,
        line_color=style.line_color,
    )
    if draft.kind == "mlp":
        wants = style.labels == "yes" or (style.labels == "any" and rng.random() < 0.5)
        if not wants:
            return base
        start = rng.randrange(len(LABEL_SETS))
        for k in range(len(LABEL_SETS)):
            labels = tuple(LABEL_SETS[(start + k) % len(LABEL_SETS)](len(draft.layers)))
            labelled = replace(base, labels=labels)
            if _labels_fit(labelled):
                return labelled
        return None if style.labels == "yes" else base
    sketch = base
    for _ in range(8):  # widen (and heighten) the boxes until every step name fits
        if _labels_fit(sketch):
            return sketch
        w, h = sketch.size
        sketch = replace(sketch, size=(round(w * 1.2), min(round(h * 1.15), 90)))
    return None


def _labels_fit(sketch: Sketch) -> bool:
    """Every label readable at the size the layout gives (all nodes share one size)."""
    node = layout(sketch).nodes[0]
    names = set(sketch.labels or sketch.steps) - {""}
    return all(fit_label(n, node.width, node.height, node.shape).fits for n in names)


def _clean(diagram: Diagram) -> bool:
    """No validation problem, no avoidable crossing, no edge through a node.

    (Exact fidelity to the spec holds by construction; tests/test_synth.py checks it.)
    """
    if validate(diagram):
        return False
    m = metrics(diagram)
    return m.edge_crossings == m.k22_crossings and m.edges_through_nodes == 0


def _hint(text: str, diagram: Diagram, spec: Spec) -> bool | None:
    """Whether extract_spec finds a spec the answer satisfies; None when it finds a wrong one."""
    found = extract_spec(text)
    if found is None:
        return False
    if found == spec:
        return True
    if found.kind == "flow" and spec.kind == "flow":
        fid = fidelity(diagram, found)
        return True if fid is not None and fid.exact else None
    return None


def _request(draft: _Draft, style: Style, w: Words) -> str:
    """The draft's wording with the style hints, finished like a person types."""
    text = draft.text
    hints = list(style.hints)
    if hints:
        said = w.join(hints)
        inline = draft.kind == "mlp" and w.chance(0.6)
        if inline:
            text = w.pick(("{t}, {h}", "{t} ({h})", "{t} - {h}", "{h}: {t}")).format(t=text, h=said)
        else:
            sentence = w.pick(("{H}.", "{H} please.", "{H}!", "Style: {h}.", "Also: {h}."))
            sentence = sentence.format(h=said, H=said[:1].upper() + said[1:])
            text = f"{text.rstrip(' .')}. {sentence}" if w.chance(0.8) else f"{sentence} {text}"
    protected = [*draft.steps, *NUMBER_WORDS]
    if "\n" in text:  # bullet lists keep their lines
        return text.strip()
    return finish(text, w, protected)
