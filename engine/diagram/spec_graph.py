"""Read what a request says beyond a chain: branches, loops and skips, onto its steps.

The chain comes from the flow or stack reader (spec_flow.py, spec_stack.py, or `trunk`
here); this module reads the rest of the sentence and returns the graph (`graph_edges`).

Branches. The tail after the chain is cut into clauses (at `;`, `. `, ` / ` and before `if`,
`else`, `otherwise`, `yes`, `no`); each clause is a condition and what follows it:
"if <cond>[,:] A", "else / otherwise A", "yes: A" / "yes -> A", "if yes A", "if it fails A".
Every branch leaves the chain's last step (the decision: "check cache", or the question
step the flow reader kept, "metrics ok?") on an edge labelled with its condition in the
request's words ("loss low", "else", "yes", "fails"); a question written on its own
("cache hit?") is that decision. A branch's actions are a chain of their own; an action
that redoes a step ("retrain", "run the tests again", "go back to step 2", "try again")
is an edge back to that step.

Loops. "repeat [for every fold | until <cond> | N times]", "until <cond>", "go back to
<step>": an edge from the chain's last step back to its first step inside the loop (the
named one; else the first, or the second when the first sets things up: load, split,
initialise ...), labelled with the condition (at most three words). Steps after the loop
("..., then average the scores") follow its last step.

Skips. "a skip / residual / shortcut connection from <a> to <b>", "residual connections
around <x>" (from the step before each x to the step after it), "concat with <x>", "(the
input is also added here)", and an identity shortcut named with an `add` step in the chain
(from the first step to the add).

Conservative: a name that matches no step makes the whole reading None, so the caller keeps
the plain chain rather than draw a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.diagram.fidelity import matches
from engine.diagram.spec_dataflow import dataflow
from engine.diagram.spec_structure import only_forks, read_structure

MAX_LABEL_WORDS = 3  # an edge label is a pill: a few words, never a sentence
MAX_STEP_WORDS = 6
SETUP = re.compile(
    r"^(?:load|split|init\w*|prepare|collect|gather|read|download|preprocess|set up|create|"
    r"define|start|get data|pretrain)\b"
)
_REPEAT = re.compile(
    r"\b(?:repeat(?:ed)?|iterate|do this again|keep going|keep looping)\b"
    r"(?:\s+(?:this|these steps|it|the above|all|"
    r"steps?|(?:[a-z]+ and [a-z]+)))?(?:\s+(?P<how>(?:for (?:each|every|all) [\w-]+(?: [\w-]+)?|"
    r"until [^,.;]+|\d+ times|while [^,.;]+|per [\w-]+)))?"
)
_UNTIL = re.compile(r"\buntil\s+(?P<cond>[^,.;]+)")
_BACK = re.compile(
    r"\b(?:go(?:es)? back to|back to|return to|loop back to|jump to)\s+(?:step\s+(?P<n>\d+)"
    r"|(?:the\s+)?(?P<x>[\w -]+?))(?=[,.;]|$|\s+(?:and|then|until|if)\b)"
)
_BACK_AND = re.compile(r"\bgo back and (?P<x>[\w -]+?)(?: again)?(?=[,.;]|$)")
_AGAIN = re.compile(r"^(?P<x>[\w -]+?)\s+again$")
_REDO = re.compile(  # one word "retrain", "retry"; "rewrite the prompt" is a step of its own
    r"^(?:re-?(?P<verb>[a-z]{3,})|try again|start over|again|(?:continue|keep) (?P<x>[\w -]+))$"
)
_SKIP = re.compile(
    r"\b(?:skip|residual|shortcut|identity)(?: connection| link| edge)?s?\s+from\s+(?:the\s+)?"
    r"(?P<a>[\w #&-]+?)\s+(?:in)?to\s+(?:the\s+)?(?P<b>[\w #&-]+?)(?=[,.;)]|$|\s+and\b)"
)
_MORE = (  # "... and from conv 2 to deconv 2": another skip of the same note
    r"\s+and\s+from\s+(?:the\s+)?(?P<a>[\w #&-]+?)\s+(?:in)?to\s+(?:the\s+)?(?P<b>[\w #&-]+?)"
    r"(?=[,.;)]|$|\s+and\b)"
)
_SKIP_MORE = re.compile(_MORE)
_MORE_PLAIN = re.sub(r"[(][?]P<\w+>", "(?:", _MORE)  # the same, without its group names
_AROUND = re.compile(
    r"\b(?:residual|skip|shortcut)(?: connection)?s?\s+(?:around|over|skipping)\s+(?:the\s+)?"
    r"(?P<x>[\w #&-]+?(?:\s+and\s+(?:the\s+)?[\w#&-]+)?)(?=[,.;)]|$|\s+and\b)"
)
_ADDED = re.compile(r"\(?\s*(?:the\s+)?(?P<x>[\w -]+?)\s+is\s+(?:also\s+)?added(?: here)?\s*\)?")
_CONCAT_WITH = re.compile(
    r"^(?P<op>concat\w*|add)\s+with\s+(?:the\s+)?(?P<x>[\w -]+?)(?: output)?$"
)
_IDENTITY = re.compile(r"\b(?:identity|residual|skip|shortcut)\b")
CONTROL = re.compile(
    r"\b(?:if|when|whether|else|otherwise|repeat|until|go(?:es)? back|back to|iterate)\b"
    r"|\?\s*(?:->\s*)?(?:yes|no)\b"
)
_NOTE = re.compile(
    rf"\s*[,(]?\s*(?:\b(?:with|plus|and|using)\s+)?(?:an?\s+|the\s+)?(?:{_SKIP.pattern}"
    rf"(?:{_MORE_PLAIN})*|{_AROUND.pattern})\)?"
)
_CLEAN = re.compile(  # whole words between spaces: "a/b test" keeps its "a"
    r"(?<!\S)(?:the|a|an|it|them|this|that|our|my|then|first|finally|next|lastly|and|we|you|"
    r"they|its|their)(?!\S)"
)
# Verbs that start a branch's action when no comma ends its condition ("if good deploy").
ACTIONS = ("deploy", "ship", "save", "merge", "promote", "stop", "return", "call", "use", "send")
ACTIONS += ("fix", "tune", "retrain", "keep", "collect", "trigger", "give", "rewrite", "go")
ACTIONS += ("continue", "load", "run", "log", "alert", "approve", "reject", "publish", "release")
ACTIONS += ("discard", "retry", "restart", "skip", "flag", "notify", "escalate", "accept")
# A clause of a branch: its condition ("if ...", "else", "yes", ...) and what follows.
_CLAUSE_START = re.compile(
    r"(?:^|(?<=[\s,;./:>-]))(?=(?:if|else|otherwise|yes|no)\b)"
)
_CONDITION = re.compile(
    r"^(?:(?P<else>else|otherwise|if not|if no)\b|(?P<yes>yes|if yes|if so)\b|"
    r"(?P<no>no)\b|if\s+(?P<cond>[^,:?]+?)(?:\s*(?:,|:|\?|\bthen\b)\s*|\s+(?=(?:"
    + "|".join(ACTIONS)
    + r")\b)))\s*(?:[:,]|->|→)?\s*"
)


@dataclass(frozen=True)
class Graph:
    """Steps (the chain's, then any the branches add) and edges with labels (0-based)."""

    steps: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    labels: tuple[str, ...]


def _clean(text: str) -> str:
    return " ".join(_CLEAN.sub(" ", text).split())


def _find(name: str, steps: list[str]) -> int | None:
    name = _clean(name.strip().lower())
    if not name:
        return None
    hits = [i for i, s in enumerate(steps) if s.lower() == name]
    hits = hits or [i for i, s in enumerate(steps) if matches(name, s) or matches(s, name)]
    return hits[0] if hits else None


def _label(text: str) -> str:
    """A condition as an edge label: its content words, at most MAX_LABEL_WORDS."""
    words = re.sub(r"\b(?:the|a|an|is|are|it|its|if|was|were|went|be|they|has|have)\b", " ",
                   text.lower()).split()
    return " ".join(words[:MAX_LABEL_WORDS])


def _chain_items(text: str) -> list[str]:
    parts = re.split(r"\s*(?:,|\band then\b|\bthen\b|\band\b|->|→)\s*", text.strip(" .,;"))
    return [" ".join(p.split()) for p in parts if p.strip()]


def without_notes(text: str) -> str:
    """The text without its skip / residual notes, which are edges, not steps ("a. skip
    from b to c, and d ..." leaves "a. d ...")."""
    return re.sub(r"([.;])\s*,\s*(?:and\s+)?", r"\1 ", _NOTE.sub("", text))


def trunk(text: str) -> tuple[str, ...] | None:
    """The chain before the first branch or loop word, for requests the flow reader leaves
    ("train, evaluate; if good deploy, else tune"); None when there is no control word or
    fewer than two steps before it."""
    t = " ".join(text.lower().split())
    control = CONTROL.search(t)
    if control is None:
        return None
    head = t[: control.start()]
    head = head.split(":", 1)[1] if ":" in head else head
    head = re.sub(r"(?m)^\s*\d+[.)]\s*", ", ", head)  # numbered lines
    items = []
    for part in re.split(r"\s*(?:,|;|->|→|\bthen\b|\band then\b|\.\s|\n)\s*", head):
        words = _clean(part).split()
        if words:
            items.append(" ".join(words))
    enough = 1 if re.search(r"\bif\b", t[control.start() :]) else 2  # "run tests; if ..."
    if len(items) < enough or any(len(i.split()) > MAX_STEP_WORDS for i in items):
        return None
    return tuple(items)


class _Builder:
    """Steps and labelled edges, growing; the chain's own edges first."""

    def __init__(self, chain: tuple[str, ...]) -> None:
        self.chain = list(chain)
        self.steps = list(chain)
        self.edges = [(i, i + 1) for i in range(len(chain) - 1)]
        self.labels = [""] * len(self.edges)

    def add(self, a: int, b: int, label: str = "") -> None:
        if a != b and (a, b) not in self.edges:
            self.edges.append((a, b))
            self.labels.append(label)

    def step(self, name: str) -> int:
        self.steps.append(name)
        return len(self.steps) - 1

    def graph(self) -> Graph:
        return Graph(tuple(self.steps), tuple(self.edges), tuple(self.labels))


def _redo_target(item: str, chain: list[str]) -> int | None | bool:
    """The chain step an action redoes (int), False when it redoes nothing, None when it
    says it redoes something the chain does not have."""
    back = _BACK.search(item) or _BACK_AND.search(item)
    if back:
        if back.groupdict().get("n"):
            n = int(back["n"]) - 1
            return n if 0 <= n < len(chain) else None
        return _find(back["x"], chain)
    again = _AGAIN.match(item)
    if again:
        return _find(again["x"], chain)
    redo = _REDO.match(item)
    if redo:
        if redo["x"]:  # "continue training" loops; "keep the old one" is a step
            found = _find(redo["x"], chain)
            return False if found is None else found
        return _find(redo["verb"], chain) if redo["verb"] else _loop_start(chain)
    same = [i for i, step in enumerate(chain) if matches(step, _clean(item))]
    return same[0] if same else False  # "read the next frame" after "read frame": a loop


def _loop_start(chain: list[str]) -> int:
    """Where a loop goes back to when the text names no step: the first step, or the
    second when the first sets things up ("split into folds", "initialise weights")."""
    return 1 if len(chain) >= 3 and SETUP.match(chain[0].lower()) else 0


def _branches(tail: str, g: _Builder) -> bool:
    """Read the branch clauses of `tail` onto the chain's last step; False when none."""
    pieces = re.split(r"\s*(?:;|\.\s|\s/\s|\n)\s*", tail)
    clauses = [c.strip(" ,;./-") for p in pieces for c in _CLAUSE_START.split(p)]
    decision = len(g.chain) - 1
    found = False
    for clause in clauses:
        head = _CONDITION.match(clause)
        if head is None:
            if clause.endswith("?") and not found and len(clause.split()) <= MAX_STEP_WORDS:
                continue  # "cache hit?": the question the last step asks
            continue
        label = (
            _label(head["cond"]) if head["cond"] else head["else"] or head["yes"] or head["no"]
        )
        label = {"if not": "no", "if no": "no", "if yes": "yes", "if so": "yes"}.get(label, label)
        at, first, before = decision, True, len(g.edges)
        for item in _chain_items(clause[head.end() :]):
            if re.fullmatch(r"(?:go|loop|jump|come) back|return", item):
                continue  # "go back and fine-tune again": the next item says where
            target = _redo_target(item, g.chain)
            if target is None:
                return False
            if target is not False:
                g.add(at, target, label if first else "")
                break
            name = _clean(item)
            if not name or len(name.split()) > MAX_STEP_WORDS:
                continue
            new = g.step(name)
            g.add(at, new, label if first else "")
            at, first = new, False
        found = found or len(g.edges) > before  # a condition with no action is no branch
    return found


def _loops(tail: str, g: _Builder) -> bool:
    back = _BACK.search(tail)
    repeat = _REPEAT.search(tail)
    until = _UNTIL.search(tail)
    if not (back or repeat or until) or len(g.chain) < 2:
        return False
    if back:
        target = _redo_target(back.group(0), g.chain)
        if not isinstance(target, int) or target is False:
            return False
    else:
        target = _loop_start(g.chain)
    how = (repeat["how"] if repeat and repeat["how"] else None) or (
        until["cond"] if until else "repeat"
    )
    last = len(g.chain) - 1
    g.add(last, target, _label(how))
    clause = max((c for c in (repeat, until, back) if c), key=lambda c: c.end())
    after = re.sub(r"^\s*[,;.]?\s*(?:and\s+)?(?:then\s+)?", "", tail[clause.end() :])
    for item in _chain_items(after):
        name = _clean(item)
        if name and len(name.split()) <= MAX_STEP_WORDS and not CONTROL.search(name):
            g.add(last, new := g.step(name))
            last = new
    return True


def _skips(t: str, g: _Builder) -> bool | None:
    found = False
    for skip in _SKIP.finditer(t):
        said, end = [skip], skip.end()
        while more := _SKIP_MORE.match(t, end):
            said, end = [*said, more], more.end()
        for one in said:
            a, b = _find(one["a"], g.steps), _find(one["b"], g.steps)
            if a is None or b is None:
                return None
            g.add(a, b, "skip")
        found = True
    for around in _AROUND.finditer(t):
        names = re.split(r"\s+and\s+(?:the\s+)?", around["x"])  # "around the attention and the mlp"
        hits = [i for i, s in enumerate(g.chain) if any(matches(x, s) for x in names)]
        if not hits:
            return None
        for i in hits:
            if 0 < i < len(g.chain) - 1:
                g.add(i - 1, i + 1)
                found = True
    for i, step in enumerate(g.chain):
        joined = _CONCAT_WITH.match(step.lower())
        if joined:
            source = _find(joined["x"], g.chain[:i])
            if source is not None:
                g.steps[i] = joined["op"]
                g.add(source, i, "skip")
                found = True
    added = _ADDED.search(t)
    adds = [i for i, s in enumerate(g.chain) if s.lower().startswith("add")]
    if added and adds:
        source = _find(added["x"], g.chain)
        if source is not None and source < adds[0]:
            g.add(source, adds[0], "skip")
            found = True
    if not found and adds and _IDENTITY.search(t) and adds[0] > 1:
        g.add(0, adds[0], "identity")  # "a residual block with its identity shortcut"
        found = True
    return found


def graph_edges(text: str, chain: tuple[str, ...]) -> Graph | None:
    """The chain with the branches, loops and skips the text states; None when it states
    none (or names a step that is not there)."""
    if not chain:
        return None
    t = " ".join(text.lower().split())
    question = re.escape(chain[-1].lower().rstrip("?")) + r"\s*\?"
    asked = re.search(r"\b(?:decision|decide|check (?:if|whether)|ask)\s+" + question, t)
    if len(chain) >= 2 and re.search(question, t) and not asked:
        chain = chain[:-1]  # "check accuracy. accuracy > 90%? yes ...": the question is a branch
    g = _Builder(chain)
    # What follows the chain's last step is where branches and loops are said.
    end = t.rfind(chain[-1].lower().rstrip("?"))
    tail = t[end + len(chain[-1].rstrip("?")) :] if end >= 0 else t
    branched = _branches(tail, g)
    if branched:  # the branches' own loops are read: loops are what comes before them
        first = _CLAUSE_START.search(tail)
        tail = tail[: first.start()] if first else tail
    looped = _loops(tail, g)
    skipped = _skips(t, g)
    if skipped is None or not (branched or looped or skipped):
        return None
    return g.graph()


# ---- forks and joins -----------------------------------------------------------------------

_FORK = re.compile(
    r"^(?:the\s+)?(?P<x>[\w /+-]+?)\s+(?:goes|go|is sent|are sent|is fed|are fed|feeds|splits|"
    r"branches|fans out|forks|is split|is passed|are passed)\s+(?:(?:in)?to|into|in)?\s*"
    r"(?:(?:two|three|four|\d+)\s+(?:branches|paths|parts|heads|streams)\s*:?\s*)?(?P<list>.+)$"
)
_JOIN = re.compile(
    r"^(?:and\s+)?(?:then\s+)?(?:both|all(?: \w+)?|the two|these|they|them|the outputs?|"
    r"their outputs?|the results?)\s*(?:[\w ]*?\s+)?(?:are|get|is|gets)?\s*"
    r"(?P<verb>concatenated|merged|combined|added|summed|joined|fused|averaged|stacked)"
    r"(?:\s+(?:and\s+)?(?:then\s+)?(?:before|into|in|at|go(?:es)? to|fed to|feed into|to)\s+"
    r"(?:the\s+)?(?P<y>[\w /+-]+))?$"
)
_MEET = re.compile(
    r"^(?:and\s+)?(?:then\s+)?(?:both|all(?: \w+)?|the two|these|they)\s*(?:[\w ]*?\s+)?"
    r"(?:meet|go|feed|flow|are fed|end up|come together)\s+(?:(?:in)?to|at|into|in)\s+"
    r"(?:the\s+|an?\s+)?(?P<y>[\w /+-]+)$"
)
# forks said in so many words: the general reader's, even where the data-flow reader reads one
_SAID_PARALLEL = re.compile(r"\b(?:in parallel|fans? out|fanning out|at the same time)\b", re.I)
_PARALLEL = re.compile(r"\s*(?:;|\.\s|\n|,\s*(?=(?:and\s+)?(?:then\s+)?(?:both|all|the two)\b))\s*")


def _names(text: str) -> list[str]:
    parts = re.split(r"\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*&\s*)\s*", text.strip(" .,;:"))
    return [n for n in (_clean(p) for p in parts) if n]


def fork_join(text: str) -> Graph | None:
    """A request that forks and joins in words: "X goes to two branches: A and B, and both
    are concatenated before C"; "X splits into A, B and C, all three are concatenated";
    parallel chains "a -> b, c -> d, then both meet at e". None when it says neither.
    spec.py tries it even where the text reads as a layer stack, so the general reader
    (spec_structure.py) is asked here too, for forks, joins and skips only."""
    found = _fork_join(text)
    if found is not None:
        return found
    general = read_structure(text)
    if general is not None and only_forks(general) and not dataflow(text):
        return Graph(general.steps, general.edges, general.labels)
    return None


def _fork_join(text: str) -> Graph | None:
    t = " ".join(text.lower().split())
    intro = re.match(r"^([^:]{0,40}):\s", t)  # "two towers: ...", not "goes to two branches:"
    t = t[intro.end() :] if intro and not _FORK.match(intro[1] + " x") else t
    g = _Builder(())
    index: dict[str, int] = {}

    def node(name: str) -> int:
        key = _clean(name)
        if key not in index:
            index[key] = g.step(key)
        return index[key]

    ends: list[int] = []  # what a join joins: the branches of the last fork, or chains' ends
    joined = False
    for clause in _PARALLEL.split(t):
        clause = clause.strip(" ,.")
        if not clause:
            continue
        join, meet, fork = _JOIN.match(clause), _MEET.match(clause), _FORK.match(clause)
        if (join or meet) and len(ends) >= 2:
            into = node(join["verb"]) if join else node(meet["y"])
            for e in ends:
                g.add(e, into)
            if join and join["y"]:
                g.add(into, node(join["y"]))
                into = node(join["y"])
            ends, joined = [into], True
        elif fork and len(_names(fork["list"])) >= 2 and "->" not in clause:
            source = node(fork["x"])
            ends = [node(n) for n in _names(fork["list"])]
            for e in ends:
                g.add(source, e)
        elif "->" in clause or "→" in clause:
            chains = [c for c in re.split(r"\s*,\s*(?=[^,]*(?:->|→))", clause) if c]
            for chain in chains:
                items = [x for x in re.split(r"\s*(?:->|→)\s*", chain) if _clean(x)]
                if len(items) < 2:
                    return None
                for a, b in zip(items, items[1:], strict=False):
                    g.add(node(a), node(b))
                ends.append(node(items[-1]))
        else:
            return None
    if not joined or len(g.steps) < 3 or any(len(s.split()) > MAX_STEP_WORDS for s in g.steps):
        return None
    return g.graph()


# ---- a loop said first ---------------------------------------------------------------------

_LOOP_INTRO = re.compile(
    r"^\s*(?P<how>repeat \d+ times|repeat for (?:each|every) [\w-]+|for (?:each|every) [\w-]+|"
    r"loop over [\w-]+|iterate over [\w-]+|\d+ times)\s*:\s*(?P<rest>.+)$",
    re.S,
)
_AFTER_LOOP = re.compile(
    r"^\s*(?:then|after (?:that|the last [\w-]+|all [\w-]+)|finally|at the end)\s*,?\s*", re.I
)


def loop_first(text: str, said: str = "") -> Graph | None:
    """The first reading spec.py tries: the general structure reader (spec_structure.py),
    else a loop said first ("for each epoch: a, b, c. then d": the steps of the first
    sentence in a loop, back from the last to the first, labelled with how it repeats, then
    what follows it)."""
    found = read_structure(text)
    if found is not None and said and said != text:
        # the general reader reads skip notes itself: where it reads the text without them,
        # it reads them too (the text as said, notes and all), when that keeps every step
        noted = read_structure(said)
        if noted is not None and noted.steps == found.steps and set(found.edges) < set(noted.edges):
            found = noted
    if (
        found is not None
        and only_forks(found)
        and not re.search(r"->|→", text)
        and not _SAID_PARALLEL.search(text)
        and _fork_join(text) is None
        and dataflow(text)
    ):
        found = None  # forks and joins of data and processes: the data-flow reader's
    if found is not None:
        return Graph(found.steps, found.edges, found.labels)
    m = _LOOP_INTRO.match(" ".join(text.lower().split()))
    if m is None:
        return None
    sentences = [s for s in re.split(r"\.\s+|;\s*", m["rest"].strip(" .")) if s.strip()]
    items = [_clean(x) for x in re.split(r"\s*(?:,|->|→|\bthen\b)\s*", sentences[0])]
    items = [x for x in items if x]
    if len(items) < 2 or any(len(x.split()) > MAX_STEP_WORDS for x in items):
        return None
    g = _Builder(tuple(items))
    g.add(len(items) - 1, 0, _label(m["how"]))
    last = len(items) - 1
    for sentence in sentences[1:]:
        name = _clean(_AFTER_LOOP.sub("", sentence))
        if not name or len(name.split()) > MAX_STEP_WORDS:
            return None
        new = g.step(name)
        g.add(last, new)
        last = new
    return g.graph()
