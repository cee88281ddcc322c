"""How faithfully a diagram draws the structure its request states (engine/diagram/spec.py).

`fidelity(diagram, spec)` is None when there is no spec: no stated structure means no
judgement, not a penalty. Otherwise `exact` says whether the diagram is what was asked, and
`score` (0..1, 1.0 exactly when `exact`) how close it comes; `why` says it in one line.

Network. Layers come from the graph (Diagram.edges(): targets that exist, no self-links),
in the direction the targets say, input first: layer 0 holds the sources (no incoming edge,
at least one outgoing), every other node sits at its longest-path depth from a source. Nodes
without edges and nodes on or behind a cycle get no layer.
- a layer's size is its node count, but a collapsed layer (engine/diagram/layout.py: a few
  units, a marker node labelled "... N", the last unit) counts as N: when exactly one node
  of the layer is such a marker and N is at least the layer's node count (the marker stands
  for N minus the other nodes, at least one unit). Otherwise a marker counts as one node.
- exact: layer sizes equal the spec in order, every node of layer i links to every node of
  layer i+1, no other edge, every node in a layer.
- score: the mean of layer-count agreement (1 - |found - asked| / asked), size agreement
  (mean over asked layers: 1 when equal, else half of min/max, 0 for a missing layer: a wrong
  size contradicts the request, a missing edge only blurs it), recall (share of the full
  connections between neighbouring found layers that are drawn) and precision (share of edges
  that are such connections), times the share of nodes that got a layer.

Flow. A step matches a node label when one's words are all among the other's ("train" and
"train model"), with the label's side allowed only when it keeps the step's first word
("train" fits the step "train model", "data" does not fit "load data"). Words are lowercased,
stop words dropped, lightly stemmed ("training" = "train"), and equal when difflib's ratio is
at least 0.85 (typos: "evaluaton"). Extra nodes and edges are allowed (branches, start/end
boxes, a loop back): requests rarely list every box, and extras don't contradict the order.
- exact: a chain of nodes n1 -> n2 -> ... -> nk, each a direct edge, matches the steps in order.
- score: the mean of the share of steps drawn at all, the share in order (the longest run of
  steps whose nodes each follow the last one's by some path) and the share of consecutive
  steps joined by a direct edge.
"""

from __future__ import annotations

import difflib
import re
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from statistics import mean

from engine.diagram.layout import marker_units
from engine.diagram.model import Diagram, DiagramError, Spec, is_bend
from engine.diagram.read import to_diagram

STOP_WORDS = {"the", "a", "an", "it", "them", "this", "that", "of", "to", "on", "in", "for"}
STOP_WORDS |= {"with", "and", "or", "by", "from", "into", "our", "my", "your", "its", "then"}
# auxiliaries and subject pronouns: "is the loss nan?" and "loss nan?" say the same step
STOP_WORDS |= {"is", "are", "was", "were", "be", "do", "does", "did", "they", "we", "i", "you"}
SUFFIXES = ("ing", "ion", "ment", "ed", "es", "s", "e")
SAME_WORD = 0.85


@dataclass(frozen=True)
class Fidelity:
    exact: bool
    score: float
    why: str


def fidelity(diagram: Diagram, spec: Spec | None) -> Fidelity | None:
    if spec is None:
        return None
    if spec.kind == "network":
        return _network(diagram, spec.layers)
    if spec.structure:
        return _structure(diagram, spec.structure)
    return _flow(diagram, spec.steps)


def _result(exact: bool, score: float, why: str) -> Fidelity:
    """Keep score == 1.0 for exact matches only."""
    return Fidelity(exact, 1.0 if exact else round(min(max(score, 0.0), 0.99), 4), why)


# ---- network -----------------------------------------------------------------------------


def infer_layers(diagram: Diagram) -> tuple[list[list[int]], set[tuple[int, int]]]:
    """Node ids per layer (longest-path depth from the sources) and the edge set."""
    ids = list(diagram.by_id())
    edges = {(a.id, b.id) for a, b in diagram.edges()}
    succs: dict[int, list[int]] = {i: [] for i in ids}
    indegree = dict.fromkeys(ids, 0)
    for a, b in edges:
        succs[a].append(b)
        indegree[b] += 1
    depth = {i: 0 for i in ids if indegree[i] == 0 and succs[i]}
    queue = deque(depth)
    while queue:  # Kahn's order: a node's depth is final once all its predecessors are done
        a = queue.popleft()
        for b in succs[a]:
            depth[b] = max(depth.get(b, 0), depth[a] + 1)
            indegree[b] -= 1
            if indegree[b] == 0:
                queue.append(b)
    placed = {i: d for i, d in depth.items() if indegree[i] == 0}  # not behind a cycle
    layers: list[list[int]] = [[] for _ in range(max(placed.values(), default=-1) + 1)]
    for i, d in placed.items():
        layers[d].append(i)
    return layers, edges


def _network(diagram: Diagram, asked: tuple[int, ...]) -> Fidelity:
    layers, edges = infer_layers(diagram)
    labels = {i: n.label for i, n in diagram.by_id().items()}
    found = [_units(layer, labels) for layer in layers]
    placed = sum(map(len, layers))
    if not asked or not placed:
        return _result(False, 0.0, f"no layers found, asked {_dashed(asked)}")
    full = {(a, b) for i in range(len(layers) - 1) for a in layers[i] for b in layers[i + 1]}
    drawn = len(edges & full)
    recall = drawn / len(full) if full else 0.0
    precision = drawn / len(edges)
    count = max(0.0, 1 - abs(len(found) - len(asked)) / len(asked))
    sizes = mean(_size_agreement(a, found[i] if i < len(found) else 0) for i, a in enumerate(asked))
    outside = len(diagram.nodes) - placed
    exact = tuple(found) == asked and drawn == len(full) == len(edges) and outside == 0
    score = mean([count, sizes, recall, precision]) * placed / len(diagram.nodes)
    why = f"layers {_dashed(found)}"
    why += " as asked" if tuple(found) == asked else f", asked {_dashed(asked)}"
    why += f"; {drawn} of {len(full)} connections between neighbouring layers"
    if len(edges) > drawn:
        why += f"; {len(edges) - drawn} other edges"
    if outside:
        why += f"; {outside} nodes outside the layers"
    return _result(exact, score, why)


def _units(layer: list[int], labels: dict[int, str]) -> int:
    """How many units a found layer stands for (see the module docstring)."""
    stated = [n for i in layer if (n := marker_units(labels[i])) is not None]
    return stated[0] if len(stated) == 1 and stated[0] >= len(layer) else len(layer)


def _size_agreement(asked: int, found: int) -> float:
    return 1.0 if asked == found else 0.5 * min(asked, found) / max(asked, found)


def _dashed(sizes: tuple[int, ...] | list[int]) -> str:
    return "-".join(map(str, sizes)) or "none"


# ---- flow --------------------------------------------------------------------------------


def words(text: str) -> list[str]:
    """Content words, lowercased and lightly stemmed: 'Training the model' -> ['train', 'model']."""
    out = []
    for w in re.findall(r"[a-z0-9]+", text.lower()):
        if w in STOP_WORDS:
            continue
        for suffix in SUFFIXES:
            if w.endswith(suffix) and len(w) - len(suffix) >= 3:
                w = w[: -len(suffix)]
                break
        if w.endswith("ment") and len(w) >= 7:  # 'augmented' -> 'augment' -> 'aug', as 'augment'
            w = w[:-4]
        out.append(w)
    return out


@lru_cache(maxsize=16384)  # pure; a request's candidates compare the same words again
def _same(a: str, b: str) -> bool:
    return a == b or (
        min(len(a), len(b)) >= 4 and difflib.SequenceMatcher(None, a, b).ratio() >= SAME_WORD
    )


def _within(some: list[str], others: list[str]) -> bool:
    return all(any(_same(a, b) for b in others) for a in some)


def matches(step: str, label: str) -> bool:
    """Does a node labelled `label` draw `step`? (see the module docstring)"""
    s, lab = words(step), words(label)
    if not s or not lab:
        return False
    return _within(s, lab) or (_within(lab, s) and _within(s[:1], lab))


def _reachable(succs: dict[int, set[int]], start: int) -> set[int]:
    seen: set[int] = set()
    todo = [start]
    while todo:
        for b in succs.get(todo.pop(), ()):
            if b not in seen:
                seen.add(b)
                todo.append(b)
    return seen


def _flow(diagram: Diagram, steps: tuple[str, ...]) -> Fidelity:
    k = len(steps)
    if k == 0:
        return _result(False, 0.0, "no steps asked")
    nodes = list(diagram.by_id().values())
    candidates = [{n.id for n in nodes if matches(step, n.label)} for step in steps]
    direct = {(a.id, b.id) for a, b in diagram.edges()}
    succs: dict[int, set[int]] = {}
    for a, b in direct:
        succs.setdefault(a, set()).add(b)
    reach = {i: _reachable(succs, i) for i in set().union(*candidates)}
    # longest[i][n]: most steps matched in order (each node reachable from the last one's)
    # in a matching that ends with step i drawn by node n; so_far[m]: the best ending on m
    so_far: dict[int, int] = {}
    for ids in candidates:
        row = {
            n: 1 + max((got for m, got in so_far.items() if m != n and n in reach[m]), default=0)
            for n in ids
        }
        for n, got in row.items():
            so_far[n] = max(so_far.get(n, 0), got)
    in_order = max(so_far.values(), default=0)
    pairs = list(zip(candidates, candidates[1:], strict=False))
    linked = sum(any((a, b) in direct for a in x for b in y) for x, y in pairs)
    chained = candidates[0]  # nodes ending a chain of direct edges that matches the steps so far
    for ids in candidates[1:]:
        chained = {b for b in ids if any((a, b) in direct for a in chained)}
    found = sum(bool(ids) for ids in candidates)
    score = mean([found / k, in_order / k, linked / len(pairs) if pairs else found / k])
    why = f"{found} of {k} steps drawn, {in_order} in order, {linked} of {len(pairs)} links direct"
    return _result(bool(chained), score, why)


# ---- stacks, data flows, catalogue entries -------------------------------------------------


def signature(diagram: Diagram) -> tuple[list[str], set[tuple[str, str]]]:
    """What a structured diagram says: its labels (frames and bend points left out) and its
    edges between labelled nodes, followed through bend points."""
    body = diagram.without_frames()
    ids = body.by_id()
    labels = sorted(" ".join(words(n.label)) for n in body.nodes if not is_bend(n))
    succs: dict[int, list[int]] = {}
    for a, b in body.edges():
        succs.setdefault(a.id, []).append(b.id)
    edges: set[tuple[str, str]] = set()
    for n in body.nodes:
        if is_bend(n):
            continue
        todo, seen = list(succs.get(n.id, ())), set()
        while todo:
            t = todo.pop()
            if t in seen:
                continue
            seen.add(t)
            if is_bend(ids[t]):
                todo += succs.get(t, ())
            else:
                edges.add((" ".join(words(n.label)), " ".join(words(ids[t].label))))
    return labels, edges


@lru_cache(maxsize=256)
def _wanted(structure: str) -> tuple[tuple[str, ...], frozenset[tuple[str, str]]] | str:
    """The signature of the structure laid out, or why it does not draw: once per request,
    not once per candidate (laying it out was half of reading a stack or a data flow)."""
    try:
        labels, edges = signature(to_diagram(structure).diagram)
    except DiagramError as e:
        return str(e)
    return tuple(labels), frozenset(edges)


def _structure(diagram: Diagram, structure: str) -> Fidelity:
    """exact: the diagram states the same labels and edges as the structure laid out (any
    style); score: the mean of the shares of its labels and of its edges that are drawn."""
    want = _wanted(structure)
    if isinstance(want, str):  # pragma: no cover - the readers write valid structures
        return _result(False, 0.0, f"the request's structure does not draw: {want}")
    want_labels, want_edges = list(want[0]), set(want[1])
    got_labels, got_edges = signature(diagram)
    left = list(got_labels)
    found = 0
    for label in want_labels:
        hit = next((g for g in left if g == label or matches(label, g)), None)
        if hit is not None:
            left.remove(hit)
            found += 1
    linked = len(want_edges & got_edges)
    exact = got_labels == want_labels and got_edges == want_edges
    score = mean([found / max(1, len(want_labels)), linked / max(1, len(want_edges))])
    why = f"{found} of {len(want_labels)} boxes drawn, {linked} of {len(want_edges)} links"
    return _result(exact, score, why)
