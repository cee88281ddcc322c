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

from engine.catalogue import catalogue
from engine.diagram.fidelity import fidelity
from engine.diagram.label_fit import fit_label
from engine.diagram.layout import layout
from engine.diagram.metrics import metrics
from engine.diagram.model import Diagram, Spec
from engine.diagram.sketch import Sketch, parse_sketch, sketch_to_text, structure_text
from engine.diagram.spec import extract_spec
from engine.diagram.text import to_text
from engine.diagram.validate import validate
from training.data import dataflows, graphs, named, stacks
from training.data.blocks import layer_blocks
from training.data.flows import process_flow
from training.data.networks import describe_network, network_layers
from training.data.styles import Style, choose_style, styled
from training.data.wording import NUMBER_WORDS, Words, finish

KINDS = ("mlp", "blocks", "flow")
KIND_WEIGHTS = (4, 3, 3)
# Sketch v2 (docs/sketch.md): v1's networks and flows, plus layer stacks (`blocks:`), data
# flows ([data] steps with edges), graphs (labelled branches, loops, skips, groups) and
# catalogue names; v1's step-list stacks ("blocks") give way to `blocks:` stacks.
V2_KINDS = ("mlp", "flow", "stack", "dataflow", "graph", "named")
V2_WEIGHTS = (3, 3, 3, 2.5, 2, 1)
MAX_ANSWER_CHARS = 300  # about 130 SmolLM2 tokens: v2 answers stay well under 160
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


def examples(n: int, seed: int, version: int = 1) -> Iterator[Example]:
    """n examples of the v1 mix (version=1, adapter v1's data) or the sketch v2 mix."""
    for i in range(n):
        rng = random.Random(seed * 1_000_003 + i)
        yield example(rng) if version == 1 else example_v2(rng)


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
    base = styled(Sketch(layers=draft.layers, steps=draft.steps, edges=draft.edges), style)
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


# ---- sketch v2 -----------------------------------------------------------------------------


def example_v2(rng: random.Random, kind: str | None = None) -> Example:
    """One example of the v2 mix (or of `kind`): v1's for networks and flows, else v2's."""
    kind = kind or rng.choices(V2_KINDS, weights=V2_WEIGHTS)[0]
    if kind in KINDS:
        return _v1_of(rng, kind)
    for _ in range(MAX_TRIES * 2):
        made = _v2_try(rng, kind)
        if made is not None:
            return made
    raise RuntimeError(f"no clean {kind} example in {MAX_TRIES * 2} tries")  # pragma: no cover


def _v1_of(rng: random.Random, kind: str) -> Example:
    for _ in range(MAX_TRIES):
        a = answer(rng, kind)
        draft = a.draft
        for _ in range(REWORDINGS if kind == "mlp" else 1):
            text = _request(draft, a.style, Words(rng))
            found = _hint(text, a.diagram, draft.spec)
            if found is not None and not (found is False and _names_entry(text)):
                return Example(
                    text, a.sketch, a.diagram, draft.spec, kind, a.style, draft.template, found
                )
            draft = replace(draft, **_reword(draft, Words(rng)))
    raise RuntimeError(f"no {kind} request read right in {MAX_TRIES} tries")  # pragma: no cover


def _names_entry(text: str) -> bool:
    """The request names a catalogue entry ("... an LSTM model ..."): when the readers find no
    structure the pipeline hints and grafts that entry, so such a request cannot teach
    its own answer (v2 data leaves it out)."""
    return catalogue.find(text) is not None


def _finish_v2(text: str, style: Style, w: Words, protected: list[str]) -> str:
    """The request with its style wishes, typed like a person (bullet lists keep lines)."""
    hints = list(style.hints)
    if hints:
        said = w.join(hints)
        sentence = w.pick(("{H}.", "{H} please.", "Style: {h}.", "Also: {h}."))
        sentence = sentence.format(h=said, H=said[:1].upper() + said[1:])
        text = f"{text.rstrip(' .')}. {sentence}" if w.chance(0.8) else f"{sentence} {text}"
    if "\n" in text:
        return text.strip()
    return finish(text, w, [*protected, *NUMBER_WORDS])


def _v2_try(rng: random.Random, kind: str) -> Example | None:
    """One attempt at a clean v2 example; None when the readers or the layout disagree."""
    w = Words(rng)
    style = choose_style(rng, "flow")
    if kind == "stack":
        made = stacks.layer_stack(w)
        text = _finish_v2(made.description, style, w, list(made.blocks))
        read = stacks.reading(text, made.blocks, made.template)
        if read is None:
            return None
        structure = Sketch(steps=read.blocks, stack=True)
        spec = Spec("stack", steps=read.blocks, structure="blocks: " + " | ".join(read.blocks))
        template = f"stack_{read.template}"
    elif kind == "dataflow":
        flow = dataflows.data_flow(w)
        text = _finish_v2(flow.description, style, w, list(flow.sketch.steps))
        got = dataflows.reading(text, flow)
        if got is None:
            return None
        structure = got.sketch
        spec = Spec("dataflow", steps=structure.steps, structure=structure_text(structure))
        template = f"dataflow_{got.template}"
    elif kind == "graph":
        g = graphs.graph(w)
        structure = g.sketch
        text = _finish_v2(g.description, style, w, [s.split(" #")[0] for s in structure.steps])
        found = extract_spec(text)
        if found is not None and found.kind != "flow":
            return None  # a stack or data flow reading would graft away the skip or loop
        spec = Spec("flow", steps=structure.steps)
        template = f"graph_{g.template}"
    else:
        n = named.named(w)
        if n is None:
            return None
        text = _finish_v2(n.description, style, w, [])
        entry = catalogue.find(text)
        if extract_spec(text) is not None or entry is None or entry.name != n.entry:
            return None
        structure, _ = parse_sketch(catalogue.adapt(entry, text))
        if structure is None:
            return None
        style = replace(style, direction=structure.direction)
        spec = Spec("named", steps=structure.steps, structure=structure_text(structure),
                    name=entry.name)  # fmt: skip
        template = n.template
    shape = "round rectangle" if style.shape == "circle" and kind != "graph" else style.shape
    sketch = replace(styled(structure, style), shape=shape)
    if len(sketch_to_text(sketch)) > MAX_ANSWER_CHARS:
        return None  # too long an answer for the 160-token budget
    try:
        diagram = layout(sketch)
    except Exception:  # noqa: BLE001 - a layout refusal is a draw-again, never a crash
        return None
    if validate(diagram) or metrics(diagram).edges_through_nodes:
        return None
    found = extract_spec(text)
    hint_found = found is not None
    if kind != "named" and not hint_found and _names_entry(text):
        return None
    if kind == "graph" and found is not None:
        fid = fidelity(diagram, found)
        if fid is None or not fid.exact:
            return None
    return Example(text, sketch, diagram, spec, kind, style, template, hint_found)
