"""Read the structure a request states: layer sizes of a network, or the steps of a flow.

`extract_spec(text)` returns a `Spec` or None. It is conservative on purpose: the ranker puts
candidates that contradict the spec last, so a wrong spec is worse than none. Rules:

Network (kind "network", layers input first):
- a whole size list: "MLP 3-5-5-2", "3x5x2", "[4, 8, 8, 1]", "4 -> 8 -> 1", "layer sizes 5, 10 & 5",
  "layer 1: 3 nodes, layer 2: 5 nodes" (numbered from 1, no role word before "layer");
  only next to a network word (mlp, net, layers, neurons...) and never next to a CNN/RNN word
  (conv, image, lstm...), where "28x28" is an image size;
- or roles: input size, hidden sizes and output size, in any order, with number words,
  synonyms (features, neurons, units, nodes, perceptrons, classes), code ("MLP(in=4,
  hidden=[8], out=2)") and typos ("nuerons"). In "hidden layer 2 = 5" the 2 is an index.
  All three are needed: "three hidden layers of 8 each" alone gives None. A network with
  no hidden layer must say so ("no hidden layer", or a plain "perceptron").
- contradictions give None: "two hidden layers with 4, 6 and 8 neurons", two input sizes.
- a total layer count ("a 3 layer network") is ignored: people count layers two ways.

Flow (kind "flow", steps in order): engine/diagram/spec_flow.py, which says how.

When both readings exist ("first the input layer with 3 neurons, then ..."), the network wins
unless the text names a flow (flowchart, pipeline, workflow, process, steps, loop).
Texts over 2,000 characters give None (the product refuses over 1,000 anyway; the regexes
are quadratic in the worst case, 0.35 s at 2,000 characters).
"""

from __future__ import annotations

import difflib
import functools
import re

from engine.diagram.model import Spec
from engine.diagram.numbers import words_to_digits
from engine.diagram.sketch import Sketch, structure_text
from engine.diagram.spec_dataflow import dataflow
from engine.diagram.spec_flow import FLOW_WORDS, any_word, flow_steps
from engine.diagram.spec_graph import (
    CONTROL,
    Graph,
    fork_join,
    graph_edges,
    loop_first,
    trunk,
    without_notes,
)
from engine.diagram.spec_stack import stack_blocks
from engine.diagram.spec_structure import VERBS

# verbs an order starts with: the readers' and a few more of the office and the lab
ORDERS = VERBS | set(
    re.findall(
        r"\w+",
        "gather list write read review draft plan design build record compare prepare analyse "
        "analyze summarize summarise upload download export import install clone open ask",
    )
)
# words that say what passes between steps: a data flow's, not a list of orders
PASSING = re.compile(
    r"\b(?:outputs?|produces?|returns?|gives?|into|from|takes?|feeds?|creates?|makes?)\b|->|→"
)

MAX_CHARS = 2000


# ---- network -----------------------------------------------------------------------------

KEYWORDS = ("input", "inputs", "output", "outputs", "hidden", "layer", "layers", "neuron")
KEYWORDS += ("neurons", "nodes", "units", "features", "network", "pooling", "convolution")
REAL_WORDS = {"later", "player", "players", "lawyer", "notes", "modes", "codes", "unites"}
REAL_WORDS |= {"polling", "cooling", "tooling", "pulling", "pooled", "inputted", "netwise"}
UNIT_WORDS = any_word(r"neurons? units? nodes? perceptrons cells? values? dims? dimensions?")
FILL = (  # words between a role and its size: "input layer with", "hidden layers of sizes"
    r"(?:\s*(?:[:=]|,\s*each\b|"
    + any_word("with of has have having that which containing contains is are each sizes? sized")
    + r"))*\s*"
)
END = r"(?=\s*(?:[,;.?!)/|]|\s-\s|$|and\b|thx\b|thanks\b|pl(?:ease|s|z)\b))"
ROLE_AFTER = (  # "... 6 nodes in the output layer": the 6 is the output's
    rf"(?!\s*(?:nodes\s+)?(?:inputs?\b|outputs?\b|classes\b|(?:in|out)\b{END}"
    r"|(?:in|at) (?:the )?(?:input|output)\b))"
)
NOT_DIM = r"(?!\d)(?!\s*(?:[x×*:]|-(?!>))\s*\d)"  # "28x28" is an image size, "layer 1: 5" an index
NUM = rf"\d+(?!\d)(?!\s*[x×*:]\s*\d){ROLE_AFTER}"  # a size in a list, not the next role's size
LIST = (  # "8, 4 and 2", "8/4", "8-4", "128 -> 64"
    rf"{NUM}(?:(?:\s*,\s*and\s+|\s*,\s*|\s+and\s+|\s*&\s*|\s*/\s*|\s*-(?!>)\s*"
    rf"|\s*(?:-+>|→)\s*|\s+){NUM})*"
)
NOT_ROLE = rf"{NOT_DIM}(?!\s*(?:nodes\s+)?{any_word('hidden outputs? classes targets? layers?')})"

INPUT = [  # not "80 x 80 input": an image's side is no layer size
    rf"(?<![\dx×*])(?<![x×*] )(\d+){NOT_DIM} (?:nodes )?inputs?\b",
    r"(\d+) nodes? (?:in|at) (?:the )?input\b",
    rf"\binputs?(?: layer)?{FILL}(\d+){NOT_ROLE}",
    rf"(\d+) in\b{END}",
    r"\bin\s*=\s*(\d+)",  # MLP(in=4, ...)
    r"(?:^|[:,;(]|->|→)\s*in\s+(\d+)\b(?!\s*(?:hidden|layers?|nodes? in))",  # "net: in 3 -> ..."
]
OUTPUT = [
    r"(\d+) (?:nodes )?(?:outputs?|classes|targets?|predictions?)\b",
    r"(\d+) nodes? (?:in|at) (?:the )?output\b",
    rf"\boutputs?(?: layer)?{FILL}(\d+){NOT_ROLE}",
    rf"(\d+) out\b{END}",
    r"\bout\s*=\s*(\d+)",
    r"(?:^|[,;(]|->|→)\s*out\s+(\d+)\s*(?:$|[,;.)])",  # "... -> out 1"
]
ORDINAL = r"(?:second|third|fourth|fifth|2nd|3rd|4th|5th)"
EACH = r"(?P<each>per|(?:in|for) (?:each|every)(?: 1)?(?: of)?(?: the)?|in both|in all)"
HIDDEN = [  # named groups: sizes; where stated, count ("two hidden layers") and each ("per")
    rf"(?:(?P<count>\d+) )?hidden(?: layers?)?{FILL}(?P<sizes>{LIST})(?: nodes)?(?P<each> each\b)?",
    rf"(?P<sizes>{LIST}) (?:hidden )?nodes (?:{EACH}|in(?: the)?|for|on) "
    r"(?:(?P<count>\d+) )?hidden",
    r"(?P<sizes>\d+) hidden(?! layers?\b)",
    rf"\b{ORDINAL}(?: hidden)?(?: layer)?{FILL}(?P<sizes>{LIST})",
]
HIDDEN_COUNT = r"(\d+) hidden layers?\b"
DIRECT = (  # "6 input nodes connected to 1 output": no layer between them
    r"\binputs?(?: nodes)? (?:are )?(?:all )?(?:directly |fully )?(?:connected|linked|wired"
    r"|mapped|going|feeding)(?: directly)? (?:in)?to (?:the |a |an )?(?:\d+ )?(?:nodes? )?outputs?"
)
NO_HIDDEN = r"\b(?:no|without(?: any)?|0) hidden\b|\bhidden\s*=\s*(?:,|$)"  # hidden=[]

NET_WORDS = any_word(
    "mlp nn ann dnn net network neural perceptron layers? nodes dense", "architecture"
)
NOT_MLP = any_word(
    r"cnn conv\w* kernel filters? pool\w* image pixels? channels? rgb lstm rnn gru transformer",
    "attention embedding batch tensor shape resnet matrix",
)
SIZE = r"\d+(?: nodes)?"
SEP = r"(?:\s*,\s*(?:and\s+|&\s*)?|\s+and\s+|\s*&\s*|\s+)"
SEQUENCES = [  # a whole layer list: "3-5-2", "3x5x2", "3 -> 5 -> 2", "[3, 5, 2]", "layers 3, 5, 2"
    r"(?<![\d.-])\d+(?:\s*-\s*\d+){2,}(?![\d-]|\.\d)",  # a full stop may end it
    r"(?<![\d.])\d+(?:\s*[x×*]\s*\d+){2,}(?!\d|\.\d)",
    r"\d+(?:\s*(?:-+>|→|=>|⟶)\s*\d+)+",
    r"[\[(]\s*\d+(?:\s*,\s*\d+)+\s*[\])]",
    rf"(?<!hidden )\blayers?(?: sizes?)?(?: of| are| is|:|=)*\s*{SIZE}(?:{SEP}{SIZE})+",
]


def _fix_typo(m: re.Match[str]) -> str:
    """'nuerons' -> 'neurons', 'hiden' -> 'hidden'; real words near a keyword stay."""
    word = m.group(0)
    low = word.lower()
    if len(word) < 4 or low in REAL_WORDS or low in KEYWORDS:
        return word
    close = _close_keyword(low)
    return close if close else word


def _fix_misspelling(m: re.Match[str]) -> str:
    """_fix_typo for every reader: an inflection of a keyword is a word of its own ("feature
    engineering" keeps its "feature"; the network reader reads "features" as inputs itself)."""
    fixed = _fix_typo(m)
    low = m.group(0).lower()
    return m.group(0) if fixed.startswith(low) or low.startswith(fixed) else fixed


@functools.lru_cache(maxsize=1 << 14)
def _close_keyword(word: str) -> str | None:
    """The keyword `word` is a typo of, or None (cached: difflib is slow, words repeat)."""
    close = difflib.get_close_matches(word, KEYWORDS, n=1, cutoff=0.8)
    return close[0] if close else None


def _network_text(text: str) -> str:
    """Lowercase, fix typos, digits for number words, one word per role ("nodes", "inputs").

    Layer numbers stay ("layer 2: 5"): `_unindexed` drops them.
    """
    t = re.sub(r"[a-z]+", _fix_typo, re.sub(r"\bw/\s*", "with ", text.lower()))
    t = re.sub(rf"\b({ORDINAL}) one\b", r"\1 layer", t)  # "the second one has 4"
    t = re.sub(r"\ban? (input|output)(?! layer)\b", r"one \1", t)  # "an output node"
    t = words_to_digits(t)
    thousands = r"(?<![\d,\[(])(\d{1,3})((?:,\d{3})+)(?=\s+[a-z])"  # "10,000 nodes"
    t = re.sub(thousands, lambda m: m[1] + m[2].replace(",", ""), t)
    t = re.sub(r"\bfeatures?\b", "inputs", t)
    t = re.sub(UNIT_WORDS, "nodes", t)
    return _plain_hidden(_plain_roles(re.sub(r"[ \t]+", " ", t)))


_STEP = r"\s*(?:,\s*then|,|then|-+>|→)\s*"
_BARE = r"\d+\b(?!\s*(?:[a-z]|[x×*]\s*\d))"  # a size with no word after it: "then 4,"
_ACTIVATIONS = r"(?:relu|sigmoid|tanh|softmax|linear|gelu)"
_MIDDLE = r"(?:bottleneck|code|latent|middle)(?: layer)?"


def _plain_roles(t: str) -> str:
    """Roles said in other words, said plainly ("N inputs", "N hidden", "N outputs"):
    - a gloss in brackets names the role: "4 entradas (inputs)";
    - an autoencoder's middle is a hidden layer: "a 3-node bottleneck", "2 in the code layer";
    - a state / observation is the input ("state has 4 values"), "N <things> out" the output;
    - bare sizes between the input and the output are hidden layers: "3 inputs, then 4,
      then 4, then 2 outputs"."""
    t = re.sub(r"(\d+) [a-z]+ \((inputs?|outputs?|hidden)\)", r"\1 \2", t)
    t = re.sub(rf"(\d+) {_ACTIVATIONS} (outputs?|nodes|inputs?)\b", r"\1 \2", t)  # "1 relu output"
    t = re.sub(r"(\d+)-nodes?\b", r"\1 nodes", t)
    t = re.sub(rf"(\d+) (?:nodes )?(?:in (?:the |a )?)?{_MIDDLE}\b", r"\1 hidden", t)
    t = re.sub(rf"\b(?:the |a )?{_MIDDLE} (?:of|with|has) (\d+)", r"\1 hidden", t)
    state = r"\b(?:the )?(?:state|observation)s? (?:vector )?(?:has|of|with|is) (\d+)"
    t = re.sub(state, r"\1 inputs", t)
    t = re.sub(rf"\b(\d+) [a-z]+ out\b{END}", r"\1 out", t)
    return re.sub(
        rf"(\d+ (?:nodes )?inputs?(?: nodes)?)((?:{_STEP}{_BARE})+){_STEP}"
        r"(?=\d+ (?:nodes )?outputs?)",
        lambda m: f"{m[1]}, hidden layers of {' and '.join(re.findall(r'[0-9]+', m[2]))}, ",
        t,
    )


ORDINAL_INDEX = {
    w: i
    for i, ws in enumerate(
        (("first", "1st"), ("second", "2nd"), ("third", "3rd"), ("fourth", "4th"), ("fifth", "5th"))
    )
    for w in ws
}
_ORDINALS = "|".join(ORDINAL_INDEX)
_NUMBERED_HIDDEN = re.compile(
    r"\bhidden layer (?:#|no\.? ?)?(\d+)\s*(?:has|have|with|of|is|:|=|-)?\s*(\d+)(?: nodes)?"
)


def _plain_hidden(t: str) -> str:
    """Hidden layers said in ways the role patterns misread, said plainly ("hidden layers of
    A and B"):
    - "A and B hidden nodes for each hidden layer" (one size per hidden layer, in order);
    - "a hidden layer of A and another (one) of B";
    - "hidden layer 1 has A nodes, hidden layer 2 has B nodes" (numbered from 1);
    - "hidden [A, B]", "hidden dims A, B", "input dim N" (code-like)."""
    listed = r"(\d+(?:\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*&\s*)\d+)+)"
    t = re.sub(
        rf"{listed}\s+(?:hidden\s+)?nodes\s+(?:for|in|on)\s+(?:each|every|the)\s+(?:of\s+the\s+)?"
        r"(?:\d+\s+)?hidden\s+layers?",
        lambda m: "hidden layers of " + " and ".join(re.findall(r"\d+", m[1])),
        t,
    )
    t = re.sub(
        r"\b(?:one|1) hidden layer (?:of|with) (\d+)(?: nodes)?((?:(?:,? and|,|,? then) "
        r"(?:another|one|1)(?: hidden layer)?(?: one)?(?: of| with| has)? \d+(?: nodes)?)+)",
        # "then 1 of 16": the 1 counts layers ("one of"), the 16 is a size
        lambda m: "hidden layers of " + " and ".join([m[1], *re.findall(r"\b\d+\b(?! of)", m[2])]),
        re.sub(r"\ban? hidden layer\b", "one hidden layer", t),
    )
    # "16 nodes in the first hidden layer, 8 in the second": the ordinal form below
    t = re.sub(
        rf"\b(\d+)(?: nodes)? (?:in|on|for) (?:the )?({_ORDINALS})(?: hidden)?(?: layer| one)?\b",
        r"the \2 hidden layer has \1",
        t,
    )
    t = re.sub(  # "2 hidden layers (first with 3 nodes, second with 2 nodes)"
        r"(hidden layers?\s*\()([^)]*)\)",
        lambda m: (
            m[1] + re.sub(rf"\b({_ORDINALS})(?: one| layer)?\b", r"\1 hidden layer", m[2]) + ")"
        ),
        t,
    )
    ordinal = re.findall(
        rf"\b(?:the )?({_ORDINALS}) hidden layer(?: has| with| of| is|:)? (\d+)", t
    )
    if len(ordinal) >= 2 and [ORDINAL_INDEX[o] for o, _ in ordinal] == list(range(len(ordinal))):
        sizes = " and ".join(n for _, n in ordinal)
        t = re.sub(
            rf"\b(?:the )?({_ORDINALS}) hidden layer(?: has| with| of| is|:)? \d+(?: nodes)?",
            lambda m: f"hidden layers of {sizes} nodes" if m[1] in ("first", "1st") else " ",
            t,
        )
    t = re.sub(r"\b(?:the )?input layer (?:takes|has|gets|receives|of|with) (\d+)", r"\1 inputs", t)
    t = re.sub(
        r"\b(?:the )?output layer (?:gives|has|outputs|returns|of|with|produces) (\d+)",
        r"\1 outputs",
        t,
    )
    t = re.sub(
        r"\b(?:predicts?|returns?|gives?|produces?|outputs?) (\d+)(?: nodes| probabilit\w*"
        r"| scores?| numbers?| values?)\b",
        r"\1 outputs",
        t,
    )
    t = re.sub(
        r"\b(mlp|net|network|nn)\s+(\d+(?:\s+\d+){2,})\b",
        lambda m: m[1] + " " + "-".join(m[2].split()),
        t,
    )
    t = re.sub(r"\bh(\d)\s*[=:]\s*(\d+)", r", hidden layer \1 = \2", t)  # h1=6 h2=4
    numbered = _NUMBERED_HIDDEN.findall(t)
    if len(numbered) >= 2 and [int(i) for i, _ in numbered] == list(range(1, len(numbered) + 1)):
        first = _NUMBERED_HIDDEN.search(t)
        sizes = " and ".join(n for _, n in numbered)
        t = (
            t[: first.start()]
            + f"hidden layers of {sizes} nodes "
            + _NUMBERED_HIDDEN.sub(" ", t[first.start() :])
        )
    t = re.sub(
        r"\bhidden(?: layers?)?(?: dims?| sizes?| units)?\s*[:=]?\s*"
        r"[\[(]\s*(\d+(?:\s*,\s*\d+)*)\s*[\])]",
        lambda m: "hidden layers of " + " and ".join(re.findall(r"\d+", m[1])),
        t,
    )
    t = re.sub(
        r"\bhidden dims?\s*[:=]?\s*(\d+(?:\s*,\s*\d+)+)",
        lambda m: "hidden layers of " + " and ".join(re.findall(r"\d+", m[1])),
        t,
    )
    return re.sub(r"\binputs? (?:dim|dimension|size|node)s?\s*[:=]?\s*(\d+)", r"\1 inputs", t)


def _unindexed(t: str) -> str:
    """'hidden layer 2: 5' -> 'hidden layer: 5': a layer number is not a size."""
    return re.sub(r"\blayer #?\d+\s*([:=])", r"layer\1", t)


def _enumerated(t: str) -> list[int] | None:
    """'layer 1: 3 nodes, layer 2: 5 nodes', numbered from 1 (not 'hidden layer 1: 3')."""
    found = re.findall(r"(?<!hidden )(?<!input )(?<!output )\blayer #?(\d+)\s*[:=]\s*(\d+)", t)
    if len(found) < 2 or [int(i) for i, _ in found] != list(range(1, len(found) + 1)):
        return None
    return [int(n) for _, n in found]


def _role(patterns: list[str], t: str) -> int | None:
    """The one size these patterns find; None when none or when they disagree."""
    found = {int(m.group(1)) for p in patterns for m in re.finditer(p, t)}
    return found.pop() if len(found) == 1 else None


def _hidden(t: str) -> list[int] | None:
    """Hidden sizes in order of mention; None when they are missing or contradict a count."""
    alone = re.search(r"\bperceptron\b", t) or re.search(DIRECT, t)
    if re.search(NO_HIDDEN, t) or (alone and "hidden" not in t):
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
    """A whole layer list written at once, next to a network word (`t` keeps layer numbers)."""
    if not re.search(NET_WORDS, t) or re.search(NOT_MLP, t):
        return None
    flat = _unindexed(t)
    found = {
        tuple(map(int, re.findall(r"\d+", m[0]))) for p in SEQUENCES for m in re.finditer(p, flat)
    }
    if enumerated := _enumerated(t):
        found.add(tuple(enumerated))
    return list(found.pop()) if len(found) == 1 else None


_TOKEN = (
    r"(?:(?:in|inputs?|h|hidden|out|outputs?)\s*:?\s*)?\d+"
    r"(?:\s+(?:in|out|inputs?|outputs?)\b(?!\s*:?\s*\d))?"
)
_SHORT_NET = re.compile(
    rf"{_TOKEN}(?:\s*(?:,|/|>|->|→|\s)\s*{_TOKEN}){{2,}}"
)


def _shorthand(t: str) -> list[int] | None:
    """Layer sizes in shorthand: "in 6, h 10, h 10, out 2", "in:2 h:6 h:6 out:2", "3>8>8>2",
    "784 in, 256, 128, 10 out": the only numbers of the text, input said first (or arrows)."""
    runs = list(_SHORT_NET.finditer(t))
    if len(runs) != 1:
        return None
    run = runs[0][0]
    rest = t[: runs[0].start()] + t[runs[0].end():]
    said_in = re.match(r"(?:in|inputs?)\b|\d+\s+in\b", run)
    if re.search(r"\d", rest) or not (said_in or re.search(r">|→", run)):
        return None
    if re.search(r"\b(?:in|inputs?)\b", run[said_in.end():] if said_in else run):
        return None  # an input said again inside the list: not one list of sizes
    sizes = [int(n) for n in re.findall(r"\d+", run)]
    return sizes if 0 not in sizes else None


def network_layers(text: str) -> list[int] | None:
    """Nodes per layer, input first, or None; a list's marks are tried as no sizes too ("1.
    input layer with 5 nodes", "* 4 inputs")."""
    marks = [int(n) for n in re.findall(r"(?m)^\s*(\d{1,2})[.)]\s", text)]
    if len(marks) >= 2 and marks == list(range(1, len(marks) + 1)):  # numbered 1, 2, 3
        plain = _layers(re.sub(r"(?m)^\s*\d{1,2}[.)]\s+", "", text))
        if plain is not None:
            return plain
    found = _layers(text)
    unmarked = re.sub(r"(?m)^\s*[*•-]\s*", "", text)
    return found if found is not None or unmarked == text else _layers(unmarked)


def _layers(text: str) -> list[int] | None:
    t = _network_text(text)
    if (short := _shorthand(re.sub(r"\([^)]*\)", " ", t))) is not None:
        return short
    roles = re.sub(r"[\[\]()]", " ", _unindexed(t))
    inp, out, hidden = _role(INPUT, roles), _role(OUTPUT, roles), _hidden(roles)
    if inp is not None and out is not None and hidden is not None:
        return [inp, *hidden, out] if 0 not in (inp, *hidden, out) else None
    seq = _sequence(t)
    if seq is None or len(seq) < 2 or 0 in seq:
        return None
    if inp is not None and inp != seq[0] and re.search(rf"\binstead of {seq[0]}\b", t):
        seq[0] = inp  # "a 784-16-10 net but with 8 input nodes shown instead of 784"
    if (inp is not None and inp != seq[0]) or (out is not None and out != seq[-1]):
        return None
    return seq


# ---- both --------------------------------------------------------------------------------


def extract_spec(text: str) -> Spec | None:
    """The structure `text` states, or None when it states none (or not unambiguously).

    The most specific wording is tried first: a loop said first (unless the text reads as a
    layer stack) and forks / joins (spec_graph.py), a layer stack (spec_stack.py), branches
    and loops after a chain, a data flow (spec_dataflow.py), then a network or a plain flow;
    a chain also takes the branches, loops and skips the rest of the text states."""
    if not text or not text.strip() or len(text) > MAX_CHARS:
        return None
    # "hiden", "ouputs", "poolng": every reader and the routing between them see the word
    text = re.sub(r"[A-Za-z]+", _fix_misspelling, text)
    # "2 outputs (cat / dog)": the classes' names, not a fork of two
    text = re.sub(r"\b(\d+\s+(?:outputs?|classes))\s*\([^()\d]*\)", r"\1", text, flags=re.I)
    core = without_notes(text)  # skip / residual notes are edges, read by spec_graph.py
    core = re.sub(r"\s+followed by\s+", ", then ", core)
    said_text = re.sub(r"\s+followed by\s+", ", then ", text)  # notes and all
    # "for each epoch: load batch, forward, backward. then save"; "X goes to two branches:
    # A and B, both concatenated before C"
    stack = stack_blocks(core)  # layers "repeated 3 times" are copies, not a loop
    said = None if stack else _graph_spec(loop_first(core, said_text))
    said = said or _graph_spec(fork_join(core))
    if said is not None:
        return said
    if stack is not None:
        # the stack reader wrote its repeats out: they are no loop for spec_graph.py to add
        counted = re.sub(
            r"\b(?:repeated|repeat)\s+\d+\s+times\b|\b\d+ of (?:them|those|these)\b",
            " ",
            words_to_digits(text.lower()),
        )
        return _graph(counted, stack, True) or Spec(
            "stack", steps=stack, structure="blocks: " + " | ".join(stack)
        )
    listed = flow_steps(core)
    if CONTROL.search(core):  # branches and loops: a flow with a graph, before data flows
        chain = listed or trunk(core)
        found = _graph(text, tuple(chain), False) if chain else None
        if found is not None:
            return found
    flow = None if _orders_of_work(core, listed) else dataflow(text)
    if flow is not None:
        names, data, edges = flow
        sketch = Sketch(steps=names, data=data, edges=edges)
        return Spec("dataflow", steps=names, structure=structure_text(sketch))
    layers, steps = network_layers(text), listed or trunk(core)
    if layers and steps and re.search(FLOW_WORDS, text, flags=re.I):
        layers = None  # "pipeline: load data -> train an MLP 3-5-2 -> evaluate"
    if layers:
        return Spec("network", layers=tuple(layers))
    if steps:
        return _graph(text, tuple(steps), False) or Spec("flow", steps=tuple(steps))
    return None


def _orders_of_work(core: str, steps: list[str] | None) -> bool:
    """'gather metrics then write intended use then get legal review': a list of orders (each
    step a verb first, nothing said to pass between them) is a flow, though the data-flow
    reader would read 'intended use' as a datum written."""
    return (
        steps is not None
        and len(steps) >= 3
        and all(s.split()[0] in ORDERS for s in steps)
        and not PASSING.search(core.lower())
    )


def _graph(text: str, chain: tuple[str, ...], stack: bool) -> Spec | None:
    """The chain with the branches, loops and skips the text adds (spec_graph.py), or None."""
    return _graph_spec(graph_edges(text, chain), stack)


def _graph_spec(found: Graph | None, stack: bool = False) -> Spec | None:
    """A graph that spec_graph.py read, as a spec (None for None)."""
    if found is None:
        return None
    labels = found.labels if any(found.labels) else ()
    sketch = Sketch(steps=found.steps, edges=found.edges, edge_labels=labels, stack=stack)
    return Spec("graph", steps=found.steps, structure=structure_text(sketch))
