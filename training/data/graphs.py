"""Graphs for sketch v2: branches with `[yes]`/`[no]` labels, loops back, skips, groups.

- branch: a chain up to a question, then `q>a[yes] q>b[no]` (the labels are the words
  the request says: every branch request says "yes" and "no", or "if so" / "if not", which
  the judge and the reader read as yes / no); the "no" side may loop back to a trunk step;
- loop: a chain whose last step goes back to an earlier one ("repeat from train until the
  loss converges"), labelled with the request's own loop word when it has one;
- skip: a layer stack (`blocks:`) with a shortcut ("with a skip connection from the input to
  the add"), a ResNet-style block or a transformer block with its residuals;
- groups: a flow or stack in named stages ("preprocessing: a, b, c; modelling: d, e"),
  drawn as `groups: 1-3 preprocessing | 4-5 modelling`.

Edges are 0-based here; labels only from the request's words. The readers find at most
the trunk of these requests (a chain that ends at the question); synth.py keeps an example
only when that reading is one the answer satisfies.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.diagram.sketch import Sketch
from training.data.flows import DECISIONS, NO, PROCESSES, YES, _stages
from training.data.steps import list_steps
from training.data.wording import Words


@dataclass(frozen=True)
class Graph:
    sketch: Sketch  # structure only
    description: str
    template: str


def _chain(n: int) -> list[tuple[int, int]]:
    return [(i, i + 1) for i in range(n - 1)]


def branch(w: Words) -> Graph:
    family = w.pick(("machine learning", "machine learning", "mlops", "fine-tuning"))
    trunk = _stages(w.rng, family, w.rng.randint(2, 4))
    node, said = w.pick(DECISIONS)
    yes = w.pick([s for s in YES if s not in trunk])
    no = w.pick([s for s in NO if s not in trunk and s != yes])
    loop = w.chance(0.45)
    back = w.rng.randrange(len(trunk)) if loop else 0
    steps = [*trunk, node, yes, no]
    q = len(trunk)
    edges = _chain(q + 1) + [(q, q + 1), (q, q + 2)]
    labels = [""] * q + ["yes", "no"]
    if loop:
        edges.append((q + 2, back))
        labels.append("")
    listed = list_steps(trunk, w, simple=True)
    again = f" and go back to {trunk[back]}" if loop else ""
    again2 = f", then back to {trunk[back]}" if loop else ""
    forms = (
        f"{listed}, then check if {said}: if yes {yes}, if no {no}{again}",
        f"{listed}, then a decision {node} yes -> {yes}, no -> {no}{again2}",
        f"flowchart: {listed}. then {node} if yes: {yes}. if no: {no}{again}",
        f"{listed}, then ask {node} (yes: {yes}; no: {no}{again2})",
        f"{w.opener()} a flowchart with a yes/no decision: {listed}, {node} yes goes to {yes}, "
        f"no goes to {no}{again2}",
        f"{listed} -> {node} -> yes: {yes} / no: {no}{again2}",
        f"process: {listed}; decision {node} if yes {yes}, if no {no}{again}",
    )
    text = w.pick(forms)
    sketch = Sketch(steps=tuple(steps), edges=tuple(edges), edge_labels=tuple(labels))
    return Graph(sketch, text, "branch_loop" if loop else "branch")


LOOP_WORDS = (  # (how a request says the loop, label or "")
    ("repeat from {t}", "repeat"),
    ("and loop back to {t}", "loop"),
    ("then go back to {t}", ""),
    ("and repeat from {t} until done", "repeat"),
    ("and return to {t}", ""),
    ("then back to {t} for the next epoch", ""),
)
TRAIN_LOOP = ("load batch", "forward pass", "compute loss", "backpropagate", "update weights")
RL_LOOP = ("observe state", "choose action", "get reward", "update policy")


def loop(w: Words) -> Graph:
    kind = w.pick(("process", "process", "train", "rl"))
    if kind == "train":
        steps = list(TRAIN_LOOP[w.rng.randrange(0, 2) :])
    elif kind == "rl":
        steps = list(RL_LOOP)
    else:
        family = w.pick(tuple(PROCESSES))
        steps = _stages(w.rng, family, w.rng.randint(3, 5))
    back = w.rng.randrange(0, len(steps) - 1)
    said, label = w.pick(LOOP_WORDS)
    said = said.format(t=steps[back])
    listed = list_steps(steps, w, simple=True)
    forms = (
        f"{listed}, {said}",
        f"{w.opener()} a loop: {listed}, {said}",
        f"{w.opener()} a flowchart of the cycle: {listed}, {said}",
        f"cycle: {listed}, {said}",
    )
    text = w.pick(forms).strip()
    edges = [*_chain(len(steps)), (len(steps) - 1, back)]
    labels = [""] * (len(steps) - 1) + [label]
    sketch = Sketch(steps=tuple(steps), edges=tuple(edges),
                    edge_labels=tuple(labels) if label else ())  # fmt: skip
    return Graph(sketch, text, f"loop_{kind}")


def skip(w: Words) -> Graph:
    """A stack with a shortcut: a residual block, or a plain stack with one stated skip."""
    roll = w.rng.random()
    f = w.pick(("64", "128", "32", "256"))
    if roll < 0.5:  # residual block: x -> conv -> (bn) -> relu -> conv -> add -> relu
        bn = w.chance(0.5)
        steps = [w.pick(("input", "x", f"input 56x56x{f}")), f"conv 3x3 {f}"]
        steps += ["batch norm"] if bn else []
        steps += ["relu", f"conv 3x3 {f}"]
        steps += ["batch norm #2"] if bn else []
        steps += ["add", "relu #2"]
        add = steps.index("add")
        said = [s.split(" #")[0] for s in steps]
        word = w.pick(("skip connection", "shortcut", "residual connection", "identity skip"))
        label = "skip" if word == "skip connection" and w.chance(0.5) else ""
        text = w.pick((
            f"a residual block: {', '.join(said)}, with a {word} from {said[0]} to add",
            f"{w.opener()} a resnet block with {', '.join(said)} and a {word} from {said[0]} "
            f"into the add",
            f"residual block - {' -> '.join(said)}; {word} from {said[0]} to add",
        )).strip()  # fmt: skip
        edges = [*_chain(len(steps)), (0, add)]
        template = "skip_residual"
    else:
        first = w.pick(("input 32x32x3", "input 64x64", "input"))
        last = f"dense {w.pick(('10', '2'))}"
        steps = [first, f"conv 3x3 {f}", "max pool", f"conv 3x3 {int(f) * 2}", "concat", last]
        src = w.pick((1, 2))
        said = steps
        word = w.pick(("skip connection", "shortcut"))
        label = "skip" if word == "skip connection" and w.chance(0.5) else ""
        text = (
            f"{w.pick(('a CNN', 'a network', 'a model'))} with {', '.join(said)}, "
            f"plus a {word} from {said[src]} to concat"
        )
        edges = [*_chain(len(steps)), (src, 4)]
        template = "skip_stack"
    labels = [""] * (len(edges) - 1) + [label]
    sketch = Sketch(steps=tuple(steps), stack=True, edges=tuple(edges),
                    edge_labels=tuple(labels) if label else ())  # fmt: skip
    return Graph(sketch, text, template)


STAGES = (
    ("preprocessing", "modelling"), ("data prep", "training"), ("ingestion", "analysis"),
    ("offline", "online"), ("training", "serving"), ("prepare", "evaluate"),
)  # fmt: skip


def groups(w: Words) -> Graph:
    family = w.pick(("machine learning", "machine learning", "data pipeline", "mlops", "nlp"))
    steps = _stages(w.rng, family, w.rng.randint(4, 6))
    cut = w.rng.randint(2, len(steps) - 2)
    a, b = w.pick(STAGES)
    first, second = steps[:cut], steps[cut:]
    forms = (
        f"two stages. {a}: {w.join(first)}. {b}: {w.join(second)}",
        f"{w.opener()} a flowchart with a {a} stage ({', '.join(first)}) and a {b} stage "
        f"({', '.join(second)})",
        f"{a} stage: {' -> '.join(first)}; {b} stage: {' -> '.join(second)}. group them",
        f"pipeline grouped into {a} ({', '.join(first)}) then {b} ({', '.join(second)})",
    )
    text = w.pick(forms).strip()
    sketch = Sketch(steps=tuple(steps),
                    groups=((0, cut - 1, a), (cut, len(steps) - 1, b)))  # fmt: skip
    return Graph(sketch, text, "groups")


MAKERS = (branch, branch, loop, loop, skip, groups)


def graph(w: Words) -> Graph:
    return w.rng.choice(MAKERS)(w)
