"""Is a diagram faithful to what its request states? The judge of the held-out dev set.

`judge(diagram, kind, gold, refused, text=..., expected=...)` reads only the node list's
labels and edges (engine/bench/data/README.md describes the kinds and their gold):

- frames and bend points are not drawn things (docs/format.md); a path through bend points
  and through **pills** counts as one direct edge. A pill is an edge label drawn as a node:
  exactly one edge in and one out, a label of at most three words that names no block kind
  and matches no gold name, and either no words but pill words ("yes", "no", "skip", "then")
  or a box at most half the median area of the labelled nodes. Its label goes with the edge.
- labels are matched with fidelity's fuzzy matcher (`engine.diagram.fidelity.matches`):
  stemmed content words, typos within difflib's 0.85.

Rules by kind:
- network: fidelity's network judge is exact (layer sizes, full connections between
  neighbouring layers, nothing else).
- steps: a chain of distinct nodes, each joined to the next by an edge, draws the steps in
  order (extra boxes before or after are allowed; between two steps they break the chain).
- stack: the blocks on the longest path from a source have block kinds
  (`blocks.kind_of`) equal to the gold's, in order; dense and output blocks state the gold's
  units; no block lies off that path.
- dataflow: every gold datum and process is drawn by a node of its own, every gold edge is an
  edge (through pass-through nodes), and every labelled node matches a gold name or is a pill.
- named: compared with `expected`, the catalogue entry's own diagram: the same kinds (labels,
  for plain steps) along the longest path, the same nodes and the same number of edges; with
  gold "classes" the last output block states that many units, with "input" the first input
  block states its numbers.
- structure: the gold steps are drawn (each by its own node), each gold edge is an edge, each
  skip an edge whose target is also reachable the long way, each loop an edge back (its
  target reaches its source), each branch an edge carrying a pill that matches its label.
- refuse: faithful iff the request was refused or nothing was drawn.

`invented` counts labelled nodes (not pills, bends or frames) with a word (letters, two or
more) found neither in the request text, nor in the gold, nor in the expected diagram's
labels, nor among GENERIC words; `labels` is how many labelled nodes were counted. Numbers
are not words here: sizes are the rules' business.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from statistics import median

from engine.diagram.blocks import kind_of, read_block
from engine.diagram.fidelity import fidelity, matches, words
from engine.diagram.model import Diagram, Node, Spec, is_bend

KINDS = ("network", "steps", "stack", "dataflow", "named", "structure", "refuse")
PILL_WORDS = {"yes", "no", "true", "false", "ok", "fail", "pass", "else", "otherwise", "skip"}
PILL_WORDS |= {"identity", "shortcut", "residual", "loop", "repeat", "retry", "again", "back"}
PILL_WORDS |= {"next", "done", "good", "bad"}
EDGE_LABEL_FILL = (255, 255, 255)
PILL_STEMS = {w for word in PILL_WORDS for w in words(word)} | PILL_WORDS  # as words() reads
GENERIC = {"input", "output", "layer", "data", "model", "node", "unit", "hidden", "start"}
GENERIC |= {"end", "begin", "stop", "result", "step", "block", "feature", "value", "process"}
GENERIC |= {"yes", "no", "skip", "loop", "repeat", "prediction", "predict", "label", "class"}


@dataclass(frozen=True)
class Verdict:
    faithful: bool
    why: str
    invented: int = 0
    labels: int = 0


@dataclass
class Graph:
    """The drawn things and the edges between them, pass-through nodes read through."""

    nodes: dict[int, Node]  # real nodes: not frames, bends or pills
    edges: dict[tuple[int, int], tuple[str, ...]]  # (a, b) -> pill labels on the way
    pills: set[int]

    def succs(self, a: int) -> list[int]:
        return [b for x, b in self.edges if x == a]

    def reach(self, a: int, without: tuple[int, int] | None = None) -> set[int]:
        seen: set[int] = set()
        todo = [a]
        while todo:
            x = todo.pop()
            for b in self.succs(x):
                if (x, b) != without and b not in seen:
                    seen.add(b)
                    todo.append(b)
        return seen

    def named(self, name: str) -> set[int]:
        return {i for i, n in self.nodes.items() if is_named(name, n.label)}


def is_named(name: str, label: str) -> bool:
    """Does a node labelled `label` draw `name`? Fidelity's matcher, and an "add" or "concat"
    is drawn by a merge block whatever its text ("+")."""
    return matches(name, label) or kind_of(name) == "merge" == kind_of(label)


def graph(diagram: Diagram, gold_names: list[str]) -> Graph:
    frames = diagram.frames()
    nodes = {i: n for i, n in diagram.by_id().items() if i not in frames}
    succ: dict[int, list[int]] = {i: [] for i in nodes}
    into = dict.fromkeys(nodes, 0)
    for a, b in diagram.edges():
        if a.id in nodes and b.id in nodes and b.id not in succ[a.id]:
            succ[a.id].append(b.id)
            into[b.id] += 1
    labelled = [n for n in nodes.values() if n.label.strip()]
    areas = [n.width * n.height for n in labelled]
    typical = median(areas) if areas else 0
    looks = Counter((n.fill, n.shape) for n in labelled).most_common(1)
    step_look = looks[0][0] if looks else None

    def pill(n: Node) -> bool:
        said = words(n.label)
        if not n.label.strip() or into[n.id] != 1 or len(succ[n.id]) != 1 or len(said) > 3:
            return False
        if kind_of(n.label) != "step":
            return False
        labels_look = n.fill == EDGE_LABEL_FILL and n.shape == "round rectangle"
        if labels_look and any(set(words(g)) <= set(said) for g in gold_names if words(g)):
            return False  # a step asked for by name ("script clean.py"), white and round
        if labels_look and (n.fill, n.shape) != step_look:
            # The documented look of an edge label (docs/format.md), unlike the steps: a
            # label that shares words with a step ("significant" after "significance
            # test", "gates" out of "gating network") is still the edge's label.
            return True
        if any(is_named(g, n.label) for g in gold_names):
            return False
        return labels_look or set(said) <= PILL_STEMS or n.width * n.height <= typical / 2

    passing = {i for i, n in nodes.items() if is_bend(n)}
    # A question the gold does not name ("input valid?" between "validate input" and its two
    # outcomes) draws the branch the gold states as edges: its edges pass through it.
    if gold_names:
        passing |= {
            i
            for i, n in nodes.items()
            if n.label.strip().endswith("?") and not any(is_named(g, n.label) for g in gold_names)
        }
    pills = {i for i, n in nodes.items() if i not in passing and pill(n)}
    passing |= pills
    edges: dict[tuple[int, int], tuple[str, ...]] = {}
    for a in nodes:
        if a in passing:
            continue
        todo: list[tuple[int, tuple[str, ...]]] = [(b, ()) for b in succ[a]]
        seen: set[int] = set()
        while todo:
            b, said = todo.pop()
            if b not in passing:
                edges[(a, b)] = edges.get((a, b), ()) + said
            elif b not in seen:
                seen.add(b)
                said = (*said, nodes[b].label) if b in pills else said
                todo += [(c, said) for c in succ[b]]
    real = {i: n for i, n in nodes.items() if i not in passing}
    return Graph(real, edges, pills)


def path_order(g: Graph) -> list[int]:
    """The longest path over forward edges (edges closing a cycle dropped), from a source."""
    ids = sorted(g.nodes)
    succs = {i: sorted(g.succs(i)) for i in ids}
    into = {b for _, b in g.edges}
    back: set[tuple[int, int]] = set()
    state: dict[int, int] = {}  # 1 on the stack, 2 done
    order: list[int] = []
    for root in [i for i in ids if i not in into] + ids:
        if root in state:
            continue
        stack = [(root, iter(succs[root]))]
        state[root] = 1
        while stack:
            x, it = stack[-1]
            b = next(it, None)
            if b is None:
                state[x] = 2
                order.append(x)
                stack.pop()
            elif state.get(b) == 1:
                back.add((x, b))
            elif b not in state:
                state[b] = 1
                stack.append((b, iter(succs[b])))
    order.reverse()  # a topological order of the forward edges
    best: dict[int, tuple[int, int | None]] = {}  # node -> (path length, predecessor)
    for x in order:
        best.setdefault(x, (1, None))
        for b in succs[x]:
            if (x, b) not in back and best[x][0] + 1 > best.get(b, (0, None))[0]:
                best[b] = (best[x][0] + 1, x)
    if not best:
        return []
    end = max(order, key=lambda i: (best[i][0], -order.index(i)))
    path = [end]
    while (p := best[path[-1]][1]) is not None:
        path.append(p)
    return path[::-1]


def _distinct(cands: list[set[int]]) -> bool:
    """Can each name get a node of its own? (bipartite matching, augmenting paths)"""
    owner: dict[int, int] = {}

    def take(i: int, seen: set[int]) -> bool:
        for n in cands[i]:
            if n not in seen:
                seen.add(n)
                if n not in owner or take(owner[n], seen):
                    owner[n] = i
                    return True
        return False

    return all(take(i, set()) for i in range(len(cands)))


def _edge(g: Graph, a: set[int], b: set[int]) -> list[tuple[int, int]]:
    return [(x, y) for x in a for y in b if (x, y) in g.edges]


# ---- the kinds ---------------------------------------------------------------------------


def _steps(g: Graph, steps: list[str]) -> tuple[bool, str]:
    cands = [g.named(s) for s in steps]
    missing = [s for s, c in zip(steps, cands, strict=True) if not c]
    if missing:
        return False, f"missing steps: {', '.join(missing)}"

    def chain(i: int, at: int, used: set[int]) -> bool:
        if i == len(steps):
            return True
        return any(
            chain(i + 1, n, used | {n}) for n in cands[i] if n not in used and (at, n) in g.edges
        )

    if any(chain(1, n, {n}) for n in cands[0]):
        return True, f"{len(steps)} steps in order"
    return False, "the steps are drawn but not as a chain in order"


def _unit_word(gold: str) -> tuple[str, int | None]:
    kind, _, rest = gold.partition(" ")
    return kind, int(rest) if rest.strip().isdigit() else None


def _stack(g: Graph, blocks: list[str]) -> tuple[bool, str]:
    path = path_order(g)
    drawn = [g.nodes[i].label for i in path]
    kinds = [kind_of(label) for label in drawn]
    want = [_unit_word(b) for b in blocks]
    if kinds != [k for k, _ in want]:
        return False, f"blocks {' | '.join(kinds) or 'none'}, asked {' | '.join(blocks)}"
    for label, (k, units) in zip(drawn, want, strict=True):
        if units is not None and read_block(label).units != units:
            return False, f"'{label}' should be {k} {units}"
    off = len(g.nodes) - len(path)
    if off:
        return False, f"blocks as asked, but {off} nodes off the stack"
    return True, f"{len(blocks)} blocks as asked"


def _dataflow(g: Graph, gold: dict) -> tuple[bool, str]:
    names = [*gold.get("data", []), *gold.get("process", [])]
    cands = [g.named(n) for n in names]
    missing = [n for n, c in zip(names, cands, strict=True) if not c]
    if missing:
        return False, f"missing: {', '.join(missing)}"
    if not _distinct(cands):
        return False, "some names share one node"
    by = dict(zip(names, cands, strict=True))
    absent = [f"{a}>{b}" for a, b in gold.get("edges", []) if not _edge(g, by[a], by[b])]
    if absent:
        return False, f"missing edges: {', '.join(absent)}"
    extra = [n.label for n in g.nodes.values() if n.label.strip() and not _named(n, names)]
    if extra:
        return False, f"not asked: {', '.join(extra)}"
    return True, f"{len(names)} names and {len(gold.get('edges', []))} edges as asked"


def _named(n: Node, names: list[str]) -> bool:
    return any(is_named(name, n.label) for name in names)


def _key(n: Node) -> str:
    kind = kind_of(n.label)
    return kind if kind != "step" else "step:" + " ".join(words(n.label))


def _alike(a: Node, b: Node) -> bool:
    ka, kb = _key(a), _key(b)
    if ka.startswith("step:") and kb.startswith("step:"):
        return matches(a.label, b.label) or matches(b.label, a.label)
    return ka == kb


def _named_entry(g: Graph, gold: dict, expected: Diagram | None) -> tuple[bool, str]:
    if expected is None:
        return False, f"no expected diagram for {gold.get('entry')}"
    e = graph(expected, [])
    ours, theirs = [g.nodes[i] for i in path_order(g)], [e.nodes[i] for i in path_order(e)]
    if len(ours) != len(theirs) or not all(map(_alike, ours, theirs)):
        got = " | ".join(_key(n) for n in ours)
        return False, f"path {got or 'none'}, expected {' | '.join(_key(n) for n in theirs)}"
    mine = list(g.nodes.values())
    cands = [{i for i, n in enumerate(mine) if _alike(n, t)} for t in e.nodes.values()]
    if len(mine) != len(e.nodes) or not _distinct(cands):
        return False, f"{len(mine)} nodes, expected {len(e.nodes)} like the entry's"
    if len(g.edges) != len(e.edges):
        return False, f"{len(g.edges)} edges, expected {len(e.edges)}"
    order = path_order(g) + sorted(set(g.nodes) - set(path_order(g)))
    if (classes := gold.get("classes")) is not None:
        outs = [i for i in order if kind_of(g.nodes[i].label) == "output"]
        outs = outs or [i for i in order if kind_of(g.nodes[i].label) in ("dense", "softmax")]
        units = read_block(g.nodes[outs[-1]].label).units if outs else None
        if units != classes:
            return False, f"the output states {units} units, asked for {classes} classes"
    if (size := gold.get("input")) is not None:
        ins = [i for i in order if kind_of(g.nodes[i].label) == "input"]
        said = set(re.findall(r"\d+", g.nodes[ins[0]].label)) if ins else set()
        if not set(re.findall(r"\d+", str(size))) <= said:
            return False, f"the input does not state {size}"
    return True, f"like the entry {gold.get('entry')}"


def _structure(g: Graph, gold: dict) -> tuple[bool, str]:
    steps = list(gold.get("steps", []))
    cands = [g.named(s) for s in steps]
    missing = [s for s, c in zip(steps, cands, strict=True) if not c]
    if missing:
        return False, f"missing steps: {', '.join(missing)}"
    if not _distinct(cands):
        return False, "some steps share one node"
    for a, b in gold.get("edges", []):
        if not _edge(g, g.named(a), g.named(b)):
            return False, f"no edge {a} > {b}"
    for a, b in gold.get("skip", []):
        if not any(
            b_ in g.reach(a_, without=(a_, b_)) for a_, b_ in _edge(g, g.named(a), g.named(b))
        ):
            return False, f"no skip {a} > {b}"
    for a, b in gold.get("loop", []):
        if not any(a_ in g.reach(b_) for a_, b_ in _edge(g, g.named(a), g.named(b))):
            return False, f"no loop {a} > {b}"
    for a, b, label in gold.get("branch", []):
        found = _edge(g, g.named(a), g.named(b))
        if not any(
            matches(_as_asked(label, a, g.nodes[e[0]].label), said)
            for e in found
            for said in g.edges[e]
        ):
            return False, f"no branch {a} > {b} [{label}]"
    parts = [
        f"{len(gold.get(k, []))} {k}" for k in ("edges", "skip", "loop", "branch") if gold.get(k)
    ]
    return True, f"{len(steps)} steps, " + ", ".join(parts or ["no extra structure"])


_NEGATION = re.compile(r"\b(?:not|never)\b|n't\b")
_FLIP = {"yes": "no", "no": "yes", "true": "false", "false": "true"}


def _as_asked(label: str, gold_question: str, drawn_question: str) -> str:
    """A branch label as the drawn question asks it: "episode not done? yes" is "episode
    done? no". The matcher reads both questions as one step (it drops no word for "not"),
    so the yes and the no swap when only one of them is negated."""
    asked = (bool(_NEGATION.search(q.lower())) for q in (gold_question, drawn_question))
    if len(set(asked)) == 1:
        return label
    return _FLIP.get(label.strip().lower(), label)


def gold_names(kind: str, gold: dict) -> list[str]:
    """The names a gold states (what a node may be matched to; a pill matches none)."""
    if kind == "steps":
        return list(gold.get("steps", []))
    if kind == "dataflow":
        return [*gold.get("data", []), *gold.get("process", [])]
    if kind == "structure":
        out = list(gold.get("steps", []))
        for key in ("edges", "skip", "loop", "branch"):
            out += [name for pair in gold.get(key, []) for name in pair[:2]]
        return out
    return []


def _invented(g: Graph, allowed: str) -> tuple[int, int]:
    labelled = [n for n in g.nodes.values() if n.label.strip()]
    text = re.sub(r"[^a-z]+", " ", " ".join([allowed, *sorted(GENERIC)]).lower())
    bad = 0
    for n in labelled:
        raw = [t for t in re.findall(r"[a-z]+", n.label.lower()) if len(t) > 1 and words(t)]
        bad += any(not matches(t, text) for t in raw)
    return bad, len(labelled)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def judge(
    diagram: Diagram | None,
    kind: str,
    gold: dict,
    refused: bool,
    *,
    text: str = "",
    expected: Diagram | None = None,
) -> Verdict:
    """Is `diagram` faithful to a request of `kind` with `gold`? (see the module docstring)"""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; kinds: {', '.join(KINDS)}")
    names = gold_names(kind, gold)
    if kind == "named" and expected is not None:
        names = [n.label for n in graph(expected, []).nodes.values() if n.label.strip()]
    g = graph(diagram, names) if diagram is not None else None
    invented, labels = 0, 0
    if g is not None:
        allowed = " ".join([text, *_strings(gold), *names])
        invented, labels = _invented(g, allowed)
    if kind == "refuse":
        ok = refused or diagram is None
        return Verdict(ok, "refused" if ok else "drew something for a refusal", invented, labels)
    if refused or g is None:
        return Verdict(False, "refused" if refused else "nothing drawn", invented, labels)
    if kind == "network":
        f = fidelity(diagram.without_frames(), Spec("network", layers=tuple(gold["layers"])))
        ok, why = bool(f and f.exact), f.why if f else "no judgement"
    elif kind == "steps":
        ok, why = _steps(g, list(gold["steps"]))
    elif kind == "stack":
        ok, why = _stack(g, list(gold["blocks"]))
    elif kind == "dataflow":
        ok, why = _dataflow(g, gold)
    elif kind == "named":
        ok, why = _named_entry(g, gold, expected)
    else:
        ok, why = _structure(g, gold)
    return Verdict(ok, why, invented, labels)
