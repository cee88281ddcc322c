"""Read the structure a request states: layer sizes of a network, or the steps of a flow.

`extract_spec(text)` returns a `Spec` or None. It is conservative on purpose: the ranker puts
candidates that contradict the spec last, so a wrong spec is worse than none. Rules:

Network (kind "network", layers input first):
- a whole size list: "MLP 3-5-5-2", "3x5x2", "[4, 8, 8, 1]", "4 -> 8 -> 1", "layer sizes 5, 10, 5";
  only next to a network word (mlp, net, layers, neurons...) and never next to a CNN/RNN word
  (conv, image, lstm...), where "28x28" is an image size;
- or roles: input size, hidden sizes and output size, in any order, with number words,
  synonyms (features, neurons, units, nodes, perceptrons, classes) and typos ("nuerons").
  All three are needed: "three hidden layers of 8 each" alone gives None. A network with
  no hidden layer must say so ("no hidden layer", or a plain "perceptron").
- contradictions give None: "two hidden layers with 4, 6 and 8 neurons", two input sizes.
- a total layer count ("a 3 layer network") is ignored: people count layers two ways.

Flow (kind "flow", steps in order): numbered steps ("1. x 2. y", "step 1: x"), bullet lines,
arrows ("a -> b", "a → b", "a => b", "a > b > c"), "first x, then y, finally z", or a comma
list after a colon ("pipeline: a, b, c") or after "steps"/"flowchart of". A bare comma list
("load data, clean it, train, evaluate") counts when it has three or more short items that do
not start with an article, at least one of several words ("relu, sigmoid, tanh" and "a cnn, an
rnn and a transformer" are not flows). Branches are not steps: the chain ends at the first item
starting with "if", "else", "yes", "no", "repeat", "back to"..., and "promote it if it wins"
keeps "promote". Items that state layer sizes ("2 nodes, 3 nodes") make no flow. Step names
are lowercased, without articles, pronouns ("clean it" -> "clean") and connectives ("then",
"finally", "we"); otherwise the user's words are kept (typos too: fidelity matches fuzzily).

When both readings exist ("first the input layer with 3 neurons, then ..."), the network wins
unless the text names a flow (flowchart, pipeline, workflow, process, steps, loop).
Texts over 2,000 characters give None (the product refuses over 1,000 anyway; the regexes
are quadratic in the worst case, 0.35 s at 2,000 characters).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from engine.diagram.model import Spec
from engine.diagram.numbers import UNITS, words_to_digits

MAX_CHARS = 2000


def any_word(*alternatives: str) -> str:
    """A regex matching any of the space-separated alternatives as whole words ('_' = space)."""
    found = [a.replace("_", " ") for alts in alternatives for a in alts.split()]
    return r"\b(?:" + "|".join(found) + r")\b"


# ---- network -----------------------------------------------------------------------------

KEYWORDS = ("input", "inputs", "output", "outputs", "hidden", "layer", "layers", "neuron")
KEYWORDS += ("neurons", "nodes", "units", "features", "network")
REAL_WORDS = {"later", "player", "players", "lawyer", "notes", "modes", "codes", "unites"}
UNIT_WORDS = any_word(r"neurons? units? nodes? perceptrons cells? values? dims? dimensions?")
FILL = (  # words between a role and its size: "input layer with", "hidden layers of sizes"
    r"(?:\s*(?:[:=]|,\s*each\b|"
    + any_word("with of has have having that which containing contains is are each sizes? sized")
    + r"))*\s*"
)
END = r"(?=\s*(?:[,;.]|$|and\b))"
ROLE_AFTER = rf"(?!\s*(?:nodes\s+)?(?:inputs?\b|outputs?\b|classes\b|(?:in|out)\b{END}))"
NOT_DIM = r"(?!\d)(?!\s*(?:[x×*:]|-(?!>))\s*\d)"  # "28x28" is an image size, "layer 1: 5" an index
NUM = rf"\d+(?!\d)(?!\s*[x×*:]\s*\d){ROLE_AFTER}"  # a size in a list, not the next role's size
LIST = rf"{NUM}(?:(?:\s*,\s*and\s+|\s*,\s*|\s+and\s+|\s*&\s*|\s*/\s*|\s*-(?!>)\s*|\s+){NUM})*"
NOT_ROLE = rf"{NOT_DIM}(?!\s*(?:nodes\s+)?{any_word('hidden outputs? classes targets? layers?')})"

INPUT = [
    rf"(\d+){NOT_DIM} (?:nodes )?inputs?\b",
    r"(\d+) nodes? (?:in|at) (?:the )?input\b",
    rf"\binputs?(?: layer)?{FILL}(\d+){NOT_ROLE}",
    rf"(\d+) in\b{END}",
]
OUTPUT = [
    r"(\d+) (?:nodes )?(?:outputs?|classes|targets?|predictions?)\b",
    r"(\d+) nodes? (?:in|at) (?:the )?output\b",
    rf"\boutputs?(?: layer)?{FILL}(\d+){NOT_ROLE}",
    rf"(\d+) out\b{END}",
]
ORDINAL = r"(?:second|third|fourth|fifth|2nd|3rd|4th|5th)"
EACH = r"(?P<each>per|in each(?: of)?(?: the)?|in both|in all)"
HIDDEN = [  # named groups: sizes; where stated, count ("two hidden layers") and each ("per")
    rf"(?:(?P<count>\d+) )?hidden(?: layers?)?{FILL}(?P<sizes>{LIST})(?: nodes)?(?P<each> each\b)?",
    rf"(?P<sizes>{LIST}) nodes (?:{EACH}|in(?: the)?|for|on) (?:(?P<count>\d+) )?hidden",
    r"(?P<sizes>\d+) hidden(?! layers?\b)",
    rf"\b{ORDINAL}(?: hidden)?(?: layer)?{FILL}(?P<sizes>{LIST})",
]
HIDDEN_COUNT = r"(\d+) hidden layers?\b"
NO_HIDDEN = r"\b(?:no|without(?: any)?|0) hidden\b"

NET_WORDS = any_word(
    "mlp nn ann dnn net network neural perceptron layers? nodes dense", "architecture"
)
NOT_MLP = any_word(
    r"cnn conv\w* kernel filters? pool\w* image pixels? channels? rgb lstm rnn gru transformer",
    "attention embedding batch tensor shape resnet matrix",
)
SIZE = r"\d+(?: nodes)?"
SEP = r"(?:\s*,\s*and\s+|\s*,\s*|\s+and\s+|\s+)"
SEQUENCES = [  # a whole layer list: "3-5-2", "3x5x2", "3 -> 5 -> 2", "[3, 5, 2]", "layers 3, 5, 2"
    r"(?<![\d.-])\d+(?:\s*-\s*\d+){2,}(?![\d.-])",
    r"(?<![\d.])\d+(?:\s*[x×*]\s*\d+){2,}(?![\d.])",
    r"\d+(?:\s*(?:-+>|→|=>|⟶)\s*\d+)+",
    r"[\[(]\s*\d+(?:\s*,\s*\d+)+\s*[\])]",
    rf"(?<!hidden )\blayers?(?: sizes?)?(?: of| are| is|:|=)*\s*{SIZE}(?:{SEP}{SIZE})+",
]


def _fix_typo(m: re.Match[str]) -> str:
    """'nuerons' -> 'neurons', 'hiden' -> 'hidden'; real words near a keyword stay."""
    word = m.group(0)
    if len(word) < 4 or word in REAL_WORDS:
        return word
    close = difflib.get_close_matches(word, KEYWORDS, n=1, cutoff=0.8)
    return close[0] if close else word


def _network_text(text: str) -> str:
    """Lowercase, fix typos, digits for number words, one word per role ("nodes", "inputs")."""
    t = re.sub(r"[a-z]+", _fix_typo, text.lower())
    t = re.sub(rf"\b({ORDINAL}) one\b", r"\1 layer", t)  # "the second one has 4"
    t = re.sub(r"\blayer #?(\d+|one|two|three|four|five)\s*:", "layer:", t)  # "hidden layer 2: 5"
    t = re.sub(r"\ban? (input|output)(?! layer)\b", r"one \1", t)  # "an output node"
    t = words_to_digits(t)
    thousands = r"(?<![\d,\[(])(\d{1,3})((?:,\d{3})+)(?=\s+[a-z])"  # "10,000 nodes"
    t = re.sub(thousands, lambda m: m[1] + m[2].replace(",", ""), t)
    t = re.sub(r"\bfeatures?\b", "inputs", t)
    t = re.sub(UNIT_WORDS, "nodes", t)
    return re.sub(r"[ \t]+", " ", t)


def _role(patterns: list[str], t: str) -> int | None:
    """The one size these patterns find; None when none or when they disagree."""
    found = {int(m.group(1)) for p in patterns for m in re.finditer(p, t)}
    return found.pop() if len(found) == 1 else None


def _hidden(t: str) -> list[int] | None:
    """Hidden sizes in order of mention; None when they are missing or contradict a count."""
    if re.search(NO_HIDDEN, t) or (re.search(r"\bperceptron\b", t) and "hidden" not in t):
        return [] if not re.search(r"\bmulti ?-?layer|\bmlp\b", t) else None
    mentions = [m for p in HIDDEN for m in re.finditer(p, t)]
    sizes: list[int] = []
    taken_end, repeat = -1, False
    for m in sorted(mentions, key=lambda m: (m.start(), -m.end())):
        if m.start() < taken_end:  # overlaps a longer reading of the same words
            continue
        taken_end = m.end()
        listed = [int(n) for n in re.findall(r"\d+", m["sizes"])]
        groups = m.groupdict()
        count = int(groups["count"]) if groups.get("count") else None
        if count is not None and len(listed) == 1:
            listed *= count
        elif count is not None and count != len(listed):
            return None
        repeat = repeat or bool(groups.get("each"))
        sizes += listed
    counts = {int(n) for n in re.findall(HIDDEN_COUNT, t)}  # "one hidden layer." + sizes elsewhere
    if len(counts) > 1:
        return None
    if counts and repeat and len(sizes) == 1:  # "2 hidden layers, 4 neurons per hidden layer"
        sizes *= next(iter(counts))
    if not sizes or (counts and counts != {len(sizes)}):
        return None
    return sizes


def _sequence(t: str) -> list[int] | None:
    """A whole layer list written at once, next to a network word."""
    if not re.search(NET_WORDS, t) or re.search(NOT_MLP, t):
        return None
    found = {
        tuple(map(int, re.findall(r"\d+", m[0]))) for p in SEQUENCES for m in re.finditer(p, t)
    }
    return list(found.pop()) if len(found) == 1 else None


def network_layers(text: str) -> list[int] | None:
    """Nodes per layer, input first, or None."""
    t = _network_text(text)
    roles = re.sub(r"[\[\]()]", " ", t)
    inp, out, hidden = _role(INPUT, roles), _role(OUTPUT, roles), _hidden(roles)
    if inp is not None and out is not None and hidden is not None:
        return [inp, *hidden, out] if 0 not in (inp, *hidden, out) else None
    seq = _sequence(t)
    if seq is None or len(seq) < 2 or 0 in seq:
        return None
    if (inp is not None and inp != seq[0]) or (out is not None and out != seq[-1]):
        return None
    return seq


# ---- flow --------------------------------------------------------------------------------

FLOW_WORDS = r"\b(?:flow ?charts?|pipelines?|workflows?|process|steps?|loop|procedure)\b"
INTRO = rf"{FLOW_WORDS}(?:\s+{any_word('of for with showing where are is these the following')})*"
ARROW = r"\s*(?:-+>|→|⟶|=>|➔|➡️?)\s*"
NUMBERED = r"(?:^|(?<=\s))(?:step\s*)?\(?(\d{1,2})(?:[.)]|\s*:)\s+"
THEN_WORDS = any_word("then finally lastly after_that and_then and_finally")
THEN = rf"\s*(?:,|;|[.?!](?:\s|$)|{THEN_WORDS})\s*"
BRANCH = "^" + any_word("if else otherwise yes no repeat loop until go_back back_to")
FIRST = r"^(?:first(?:ly)?|start(?:ing)? (?:by|with)|begin (?:by|with))\b"
LEADING = (  # connectives before a step: "and finally", "first we", "step 3"
    r"^(?:first(?:ly)?|second(?:ly)?|third(?:ly)?|fourth|fifth|then|next|finally|lastly|after that"
    r"|afterwards|start(?:ing)? (?:by|with)|begin (?:by|with)|and|so|also|we|i|you|draw"
    r"|step \d+)\b\s*"
)
DROP_WORDS = any_word("the a an it them this that these those our my your please pls plz")
FILLER = {"thanks", "thx", "ty", "lol", "pls", "please", "etc"}
REQUEST = any_word("draw make show create sketch visuali[sz]e diagram explain what how why") + "|"
REQUEST += r"\b(?:can|could) (?:you|u)\b"
SIZES = r"\d.*\b(?:neurons?|nodes?|units?|perceptrons?)\b|\b(?:neurons?|nodes?|units?)\b.*\d"
MAX_STEP_WORDS = 10


def _clean_step(item: str) -> str:
    """'and finally deploy it to the edge device.' -> 'deploy to edge device'."""
    s = re.sub(r"[()\[\]]", " ", item).strip(" \t\n.,;:!?\"'`")
    s = re.split(r"\s+if\s+", s)[0]  # "promote it if it wins" -> "promote it"
    s = re.sub(r"\s+(?:on|to|with|in|into|for|of|from)\s+(?:it|them|this|that)$", "", s)
    while (stripped := re.sub(LEADING, "", s)) != s:
        s = stripped
    s = re.sub(DROP_WORDS, " ", s)
    s = re.sub(r"\s+", " ", s).strip(" .,;:!?")
    return "" if s in FILLER else s


def _steps(items: list[str]) -> list[str]:
    """Clean the items, ending the chain at the first branch ("if good deploy, else ...")."""
    steps: list[str] = []
    for item in items:
        if re.match(BRANCH, item.strip()):
            break
        if step := _clean_step(item):
            steps.append(step)
    return steps


def _comma_items(text: str) -> list[str]:
    """'a, b, c and d' -> [a, b, c, d]; items inside are kept whole ('x to 1 and y to 2')."""
    items = [i.strip() for i in re.split(r"\s*[,;]\s*", text) if i.strip()]
    if len(items) >= 2 and not items[-1].startswith("and "):
        items[-1:] = re.split(r"\s+and\s+", items[-1], maxsplit=1)
    return items


def _numbered(t: str) -> list[str] | None:
    """'1. x 2. y', '1) x 2) y', 'step 1: x. step 2: y'."""
    marks = list(re.finditer(NUMBERED, t))
    if len(marks) < 2 or [int(m[1]) for m in marks] != list(range(1, len(marks) + 1)):
        return None
    ends = [m.start() for m in marks[1:]] + [len(t)]
    return [t[m.end() : e] for m, e in zip(marks, ends, strict=True)]


def _bulleted(t: str) -> list[str] | None:
    bullets = re.findall(r"^\s*[-*•]\s+(.+)$", t, flags=re.M)
    return bullets if len(bullets) >= 2 else None


def _arrowed(t: str) -> list[str] | None:
    """'rag pipeline: a -> b -> c. thanks' -> [a, b, c]; also '→', '=>' and 'a > b > c'."""
    if re.search(ARROW, t):
        parts = re.split(ARROW, t)
    elif len(re.findall(r"\s>\s", t)) >= 2:
        parts = re.split(r"\s+>\s+", t)
    else:
        return None
    parts[0] = re.split(r"[.!?]\s+", parts[0].split(":")[-1])[-1]  # drop the intro
    parts[-1] = re.split(r"[.!?](?:\s|$)", parts[-1])[0]  # drop a trailing sentence
    return [p for part in parts for p in (_comma_items(part) if "else" in part else [part])]


def _then_chain(t: str) -> list[str] | None:
    """'first x, then y, and finally z' or 'x then y then z' (sentences allowed)."""
    if not re.search(r"\bthen\b|\bfinally\b", t):
        return None
    if ":" in re.split(r"\bthen\b", t, maxsplit=1)[0]:
        t = t.split(":", 1)[1]
    pieces = [p.strip() for p in re.split(THEN, t) if p.strip()]
    starts = [i for i, p in enumerate(pieces) if re.match(FIRST, p)]
    if starts:
        return pieces[starts[0] :]
    while pieces and re.search(f"{REQUEST}|{FLOW_WORDS}", pieces[0]):
        pieces.pop(0)  # "can you diagram our eval pipeline?"
    return pieces


def _listed(t: str) -> list[str] | None:
    """A comma list after a colon or after 'steps'/'flowchart of', or a bare list of short items."""
    if ":" in t:
        return _comma_items(t.split(":", 1)[1])
    intros = list(re.finditer(INTRO, t))
    if intros:  # "a flowchart with these steps load data, ..."
        return _comma_items(t[intros[-1].end() :])
    items = _comma_items(t)
    bare = (
        re.search(REQUEST, t) is None
        and any(len(i.split()) > 1 for i in items)  # "relu, sigmoid, tanh" is not a process
        and all(len(i.split()) <= 4 and not re.match(r"(?:a|an|the)\b", i) for i in items)
    )
    return items if bare else None


# strongest marker first; lists need three steps, marked sequences two
FINDERS: list[tuple[Callable[[str], list[str] | None], int]] = [
    (_numbered, 2),
    (_bulleted, 2),
    (_arrowed, 2),
    (_then_chain, 2),
    (_listed, 3),
]


def flow_steps(text: str) -> list[str] | None:
    """Ordered step names, or None."""
    t = text.strip().lower()
    t = re.sub(
        r"\bstep (one|two|three|four|five|six|seven|eight|nine)\b",
        lambda m: f"step {UNITS[m[1]]}",
        t,
    )
    found = next(
        ((items, least) for find, least in FINDERS if (items := find(t)) is not None), None
    )
    if found is None:
        return None
    items, least = found
    network_ish = r"\d.*\b(?:inputs?|outputs?|hidden)\b|\b(?:inputs?|outputs?|hidden)\b.*\d"
    if any(re.search(SIZES, i) or (least == 3 and re.search(network_ish, i)) for i in items):
        return None  # layer sizes ("2 nodes, 3 nodes, 1 node") describe a network, not a flow
    steps = _steps(items)
    if any(re.fullmatch(r"\d[\d\s.,]*", s) for s in steps):
        return None  # "3, 5, 2" are sizes, not steps
    if len(steps) < least or any(len(s.split()) > MAX_STEP_WORDS for s in steps):
        return None
    return steps


# ---- both --------------------------------------------------------------------------------


def extract_spec(text: str) -> Spec | None:
    """The structure `text` states, or None when it states none (or not unambiguously)."""
    if not text or not text.strip() or len(text) > MAX_CHARS:
        return None
    layers, steps = network_layers(text), flow_steps(text)
    if layers and steps and re.search(FLOW_WORDS, text, flags=re.I):
        layers = None  # "pipeline: load data -> train an MLP 3-5-2 -> evaluate"
    if layers:
        return Spec("network", layers=tuple(layers))
    if steps:
        return Spec("flow", steps=tuple(steps))
    return None
