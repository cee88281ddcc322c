"""Read what a request says beyond a chain: branches, loops and skips, onto its steps.

The chain comes from the flow or stack reader (spec_flow.py, spec_stack.py); this module
reads the rest of the sentence and returns the edges it adds (`graph_edges`):

- a branch: "if <cond>[,:] A [and B]; else / otherwise C [and D]" (also "if yes A, if no
  B") after the last step: a decision step "<cond>?" whose edges carry `yes` and `no`, each
  branch a chain of its own steps;
- a loop: "repeat [for each fold | until <cond> | N times]", "until <cond>", "go back to
  <step>" / "back to step N", and a branch step that redoes an earlier one ("retrain" after
  "train", "try again"): an edge back to that step (the first one when none is named),
  labelled with the condition when there is one;
- a skip: "a skip / residual / shortcut connection from <a> to <b>", or "residual
  connections around <x>" (from the step before each x to the step after it).

Conservative: a name that matches no step makes the whole reading None, so the caller keeps
the plain chain rather than draw a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.diagram.fidelity import matches

MAX_COND_WORDS = 5
_BRANCH = re.compile(
    r"\b(?:if|when|whether)\s+(?P<cond>[^,:;.?]+?)\s*(?:\?|,|:|\bthen\b)\s*(?P<yes>[^;.]+?)"
    r"\s*(?:[;,.]\s*|\s+)(?:else|otherwise|if not|if it is not|if not so)\b\s*[,:]?\s*"
    r"(?P<no>[^;.]+)"
)
_TERSE = re.compile(  # "if good deploy, else tune": a one- or two-word condition, no comma
    r"\bif\s+(?P<cond>(?:it(?:'s| is)\s+)?\w+(?:\s+enough)?)\s+(?P<yes>[^,;.]+?)\s*[;,.]?\s*"
    r"(?:else|otherwise|if not)\b\s*[,:]?\s*(?P<no>[^;.]+)"
)
_YES_NO = re.compile(
    r"\bif (?:yes|so|true|ok)\s*[,:]?\s*(?P<yes>[^;.]+?)\s*[;,.]\s*if (?:no|not|false)\s*[,:]?"
    r"\s*(?P<no>[^;.]+)"
)
_REPEAT = re.compile(
    r"\b(?:repeat(?:ed)?|iterate|do this again)\b(?:\s+(?:this|these steps|it|"
    r"the above|all|steps?))?(?:\s+(?P<how>(?:for (?:each|every|all) [\w-]+(?: [\w-]+)?|until "
    r"[^,.;]+|\d+ times|while [^,.;]+|per [\w-]+)))?"
)
_UNTIL = re.compile(r"\buntil\s+(?P<cond>[^,.;]+)")
_BACK = re.compile(r"\b(?:go(?:es)? back to|back to|return to|loop back to)\s+(?:step\s+(?P<n>\d+)"
                   r"|(?:the\s+)?(?P<x>[\w -]+?))(?=[,.;]|$|\s+(?:and|then|until)\b)")
_SKIP = re.compile(
    r"\b(?:skip|residual|shortcut|identity)(?: connection| link| edge)?s?\s+from\s+(?:the\s+)?"
    r"(?P<a>[\w #&-]+?)\s+(?:in)?to\s+(?:the\s+)?(?P<b>[\w #&-]+?)(?=[,.;)]|$|\s+and\b)"
)
_AROUND = re.compile(
    r"\b(?:residual|skip|shortcut)(?: connection)?s?\s+(?:around|over|skipping)\s+(?:the\s+)?"
    r"(?P<x>[\w #&-]+?)(?=[,.;)]|$|\s+and\b)"
)
_REDO = re.compile(r"^(?:re-?(?P<verb>\w+)|try again|start over|again)$")


@dataclass(frozen=True)
class Graph:
    """Steps (the chain's, then any the branches add) and edges with labels (0-based)."""

    steps: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    labels: tuple[str, ...]


def _find(name: str, steps: list[str]) -> int | None:
    name = name.strip().lower()
    hits = [i for i, s in enumerate(steps) if s.lower() == name]
    hits = hits or [i for i, s in enumerate(steps) if matches(name, s) or matches(s, name)]
    return hits[0] if hits else None


def _short(text: str) -> str:
    words = re.sub(r"\b(?:the|a|an|is|are|it|its)\b", " ", text.lower()).split()
    return " ".join(words[:MAX_COND_WORDS])


def _chain_items(text: str) -> list[str]:
    parts = re.split(r"\s*(?:,|\band then\b|\bthen\b|\band\b|->|→)\s*", text.strip(" .,;"))
    return [" ".join(p.split()) for p in parts if p.strip()]


_CONTROL = re.compile(
    r"\b(?:if|when|whether|else|otherwise|repeat|until|go(?:es)? back|back to|loop|iterate)\b"
)
_NOTE = re.compile(
    rf"\s*[,(]?\s*(?:\b(?:with|plus|and|using)\s+)?(?:an?\s+|the\s+)?(?:{_SKIP.pattern}"
    rf"|{_AROUND.pattern})\)?"
)
_CLEAN = re.compile(
    r"\b(?:the|a|an|it|them|this|that|our|my|then|first|finally|next|lastly|and|we|you)\b"
)


def without_notes(text: str) -> str:
    """The text without its skip / residual notes, which are edges, not steps."""
    return _NOTE.sub("", text)


def trunk(text: str) -> tuple[str, ...] | None:
    """The chain before the first branch or loop word, for requests the flow reader leaves
    ("train, evaluate; if good deploy, else tune"); None when there is no control word or
    fewer than two steps before it."""
    t = " ".join(text.lower().split())
    control = _CONTROL.search(t)
    if control is None:
        return None
    head = t[: control.start()]
    head = head.split(":", 1)[1] if ":" in head else head
    items = []
    for part in re.split(r"\s*(?:,|;|->|→|\bthen\b|\band then\b|\.\s)\s*", head):
        words = _CLEAN.sub(" ", part).split()
        if words:
            items.append(" ".join(words))
    if len(items) < 2 or any(len(i.split()) > 6 for i in items):
        return None
    return tuple(items)


def graph_edges(text: str, chain: tuple[str, ...]) -> Graph | None:
    """The chain with the branches, loops and skips the text states; None when it states
    none (or names a step that is not there)."""
    t = " ".join(text.lower().split())
    steps = list(chain)
    edges = [(i, i + 1) for i in range(len(steps) - 1)]
    labels = [""] * len(edges)

    def add(a: int, b: int, label: str = "") -> None:
        if a != b and (a, b) not in edges:
            edges.append((a, b))
            labels.append(label)

    found = False
    branch = _YES_NO.search(t) or _BRANCH.search(t) or _TERSE.search(t)
    if branch and steps:
        found = True
        groups = branch.groupdict()
        cond = groups.get("cond")
        if cond:
            decision = len(steps)
            steps.append(f"{_short(cond)}?")
            add(len(chain) - 1, decision)
        else:  # "check if metrics ok: if yes ..., if no ...": the last step is the question
            decision = len(chain) - 1
            steps[decision] = steps[decision].rstrip("?") + "?"
        for key, label in (("yes", "yes"), ("no", "no")):
            at, first = decision, True
            for item in _chain_items(groups[key]):
                back = _BACK.search(item)
                redo = _REDO.match(item)
                target = None
                if back:
                    target = int(back["n"]) - 1 if back["n"] else _find(back["x"], list(chain))
                elif redo:
                    target = _find(redo["verb"], list(chain)) if redo["verb"] else 0
                if target is not None and 0 <= target < len(chain):
                    add(at, target, label if first else "")
                    break
                if back or redo:
                    return None
                steps.append(" ".join(_CLEAN.sub(" ", item).split()) or item)
                add(at, len(steps) - 1, label if first else "")
                at, first = len(steps) - 1, False
    loop_text = t[: branch.start()] + t[branch.end() :] if branch else t
    # Loop words count after the chain's last step only ("the training loop: a, b, c").
    end = loop_text.rfind(chain[-1].lower()) if chain else -1
    loop_text = loop_text[end + len(chain[-1]) :] if end >= 0 else loop_text
    back = _BACK.search(loop_text)
    repeat = _REPEAT.search(loop_text)
    until = _UNTIL.search(loop_text)
    if (back or repeat or until) and len(chain) >= 2:
        found = True
        if back:
            target = int(back["n"]) - 1 if back["n"] else _find(back["x"], list(chain))
            if target is None or not 0 <= target < len(chain):
                return None
        else:
            target = 0
        how = (repeat["how"] if repeat and repeat["how"] else None) or (
            f"until {until['cond']}" if until else "repeat"
        )
        last = len(chain) - 1
        add(last, target, _short(how))
        clause = repeat or until or back
        after = loop_text[clause.end() :] if clause else ""
        for item in _chain_items(re.sub(r"^\s*[,;]?\s*(?:and\s+)?(?:then\s+)?", "", after)):
            words = _CLEAN.sub(" ", item).split()
            if words and len(words) <= 6:
                steps.append(" ".join(words))
                add(last, len(steps) - 1)
                last = len(steps) - 1
    for skip in _SKIP.finditer(t):
        a, b = _find(skip["a"], steps), _find(skip["b"], steps)
        if a is None or b is None:
            return None
        add(a, b, "skip")
        found = True
    for around in _AROUND.finditer(t):
        hits = [i for i, s in enumerate(chain) if matches(around["x"], s)]
        if not hits:
            return None
        for i in hits:
            if 0 < i < len(chain) - 1:
                add(i - 1, i + 1)
                found = True
    if not found:
        return None
    return Graph(tuple(steps), tuple(edges), tuple(labels))
