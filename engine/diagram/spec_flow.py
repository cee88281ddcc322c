"""Read the steps of a flow from a request: `flow_steps(text)` gives step names in order, or None.

Conservative like engine/diagram/spec.py, whose rules it shares. Steps come from numbered steps
("1. x 2. y", "step 1: x"), bullet lines, arrows ("a -> b", "a → b", "a => b", "a > b > c"),
"first x, then y, finally z", or a comma list after a colon ("pipeline: a, b, c") or after
"steps"/"flowchart of". A bare comma list ("load data, clean it, train, evaluate") counts when
it has three or more short items that do not start with an article, at least one of several
words ("relu, sigmoid, tanh" and "a cnn, an rnn and a transformer" are not flows).

What is not a step:
- sentences of style and meta words only ("Dashed lines please.", "Also: compact.", "draw it
  as a flowchart"), closing asides ("Thanks!", "that's my cnn"), a trailing style item ("a, b,
  c, in blue please") and residual notes ("with skip connections around attention");
- the request around the list: "can i get a flowchart of a, then b" starts at "a";
- branches: the chain ends at the first item starting with "if", "else", "yes", "no",
  "repeat", "back to"..., and "promote it if it wins" keeps "promote". A decision ("then check
  whether tests pass", "a decision loss converged?") ends the chain with its question. Forks
  ("in parallel", "branch into", "side by side") give None: which branch is the path is a guess.
- layer sizes ("2 nodes, 3 nodes", "3 inputs -> 1 output", "4 hidden"): that is a network.
"a and b, then c" and "a, b & c d" list separate steps; "add & norm" is one block, and another
"x & y" of one word each is unsure (one block or two?): the chain ends before it.
Step names are lowercased, without articles, pronouns ("clean it" -> "clean") and connectives
("then", "finally", "at the end", "we"); otherwise the user's words are kept (typos too:
fidelity matches fuzzily).
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable

from engine.diagram.numbers import UNITS, words_to_digits


def any_word(*alternatives: str) -> str:
    """A regex matching any of the space-separated alternatives as whole words ('_' = space)."""
    found = [a.replace("_", " ") for alts in alternatives for a in alts.split()]
    return r"\b(?:" + "|".join(found) + r")\b"


FLOW_WORDS = r"\b(?:flow ?charts?|pipelines?|workflows?|process|steps?|loop|procedure)\b"
INTRO = rf"{FLOW_WORDS}(?:\s+{any_word('of for with showing where are is these the following')})*"
ARROW = r"\s*(?:-+>|→|⟶|=>|➔|➡️?)\s*"
NUMBERED = r"(?:^|(?<=\s))(step\s*)?(\(?)(\d{1,2})([.)]|\s*:|\s*[-–](?=\s))\s+"  # 1. 1) 1: 1 -
LETTERED = r"(?:^|(?<=\s))\(?([a-j]|[ivx]{1,4})[.)]\s+"  # a. b) (c) / i. ii. iii.
ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x")
THEN_WORDS = any_word("then finally lastly after_that and_then and_finally")
THEN = rf"\s*(?:,|;|[.?!](?:\s|$)|{THEN_WORDS})\s*"
BRANCH = "^" + any_word("if else otherwise yes no repeat loop until go_back back_to")
FIRST = r"^(?:first(?:ly)?|start(?:ing)? (?:by|with)|begin (?:by|with))\b"
LEADING = (  # connectives before a step: "and finally", "first we", "step 3", "at the end"
    r"^(?:first(?:ly)?|second(?:ly)?|third(?:ly)?|fourth|fifth|then|finally|lastly|after that"
    r"|afterwards|next(?! (?:block|layer|stage|step)$)|(?:at|in) the end"
    r"|(?:start|begin|end)s? (?:by|with)|starting (?:by|with)"
    r"|and|so|also|we|i|you|draw|step \d+)\b\s*"
)
CONNECTIVES = (
    "finally",
    "lastly",
    "after",
    "first",
    "next",
    "then",
    "start",
    "begin",
)  # typo targets
DROP_WORDS = any_word("the a an it them this that these those our my your please pls plz")
FILLER = {"thanks", "thx", "ty", "lol", "pls", "please", "etc", "done", "that's it", "end"}
# words, not misspelt connectives or "decide"
NOT_TYPOS = frozenset({"final", "nest", "begins", "decode", "decoded", "decodes"})
REQUEST = any_word("draw make show create sketch visuali[sz]e diagram explain what how why") + "|"
REQUEST += r"\b(?:can|could) (?:you|u)\b"
# the request around a list: "i need a flowchart of", "visualise a cnn with", "... starts with"
INTRO_ASK = any_word(
    r"draw sketch visuali[sz]e illustrate picture diagram flow_?chart chart figure",
    r"can_(?:you|u|i) could_(?:you|u) i_need i_want help_me give_me (?:starts|begins)_with",
) + (  # "plot an image classifier cnn with ...", "a convnet with ...", not "create an index with"
    r"|^(?:(?:plot|render|generate|create|make|build|show|i'd like|i want|here is)\s+(?:me\s+)?)?"
    r"(?:an?|the|this|my|our)\s+(?:[\w-]+\s+){0,3}?(?:cnn|convnet|network|net|model"
    r"|auto-?encoder|ae|transformer|block|layer|lstm|rnn|gru|architecture|classifier)\b"
)
INTRO_END = r"\s(?:[-–]|:)\s|:\s*|\b(?:of|with|showing|where|(?:starts|begins) with)\s+"
SIZES = r"\d.*\b(?:neurons?|nodes?|units?|perceptrons?)\b|\b(?:neurons?|nodes?|units?)\b.*\d"
ROLES = ("input", "inputs", "output", "outputs", "hidden", "in", "out")
FORK = any_word(
    r"branch(?:es)?(?:_out)?_(?:into|to) fans?_out in_parallel side_by_side parallel_branches",
    r"joins?_again all_of_them each_of_them which_all those_go_to",
)
# "then check whether x", "ask x?", "a decision x?": the question, then its branches
DECISION = r"\b(?:(?P<check>c[a-z]{2,4}k (?:if|whether))|ask|decide|(?:a )?decision)\s+"
DECISION += r"(?P<q>(?:[^?:;,(.]|\.\d)+?)"
DECISION += r"(?:(?P<mark>\?)|\s*(?=[:;,(]|\.\s|\.$|\s+if\b|$))"
RESIDUAL = r"\s*[,(]?\s*(?:\b(?:with|plus|and)\s+)?(?:the\s+)?(?:usual\s+)?"
RESIDUAL += r"\b(?:residuals?|(?:residual|skip) connect\w*)\s+(?:ar\w+|over|skip)\b[^.]*"
# "the ci bit of our repo goes checkout, ...": a subject that "goes" a list, as a colon does
GOES = r"^(?:[\w'-]+\s+){1,8}?(?:goes|go|went)\s+(?:like\s*:?\s*)?"
GOES += r"(?!(?:into|to|through|from|in|back|on|out|up|down)\b)"  # "goes into the model" moves
PURPOSE = r"(?:to|in order to)\s+[a-z]+\s"  # "to build the index, ..." says why, no step
ABOUT_IT = r"(?:that|this|it)(?:'s| is)\b"  # "... -> dense 2. that's an image classifier cnn"
MAX_STEP_WORDS = 10


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# style and meta sentences: every word a style or filler word, at least one a style word
STYLE_CORE = _word_set(
    """blue green red orange yellow purple pink teal turquoise grey gray white black brown
    light dark pastel deep colour color colours colors coloured colored fill filled scheme
    horizontal horizontally vertical vertically sideways left right top bottom down
    circle circles circular round rounded rectangle rectangles rectangular box boxes boxy square
    corners shapes shape nodes node line lines edges edge links link arrows arrow arrowheads
    connections dashed dotted dashes solid undirected directed big large larger small tiny
    compact labels label labelled labeled unlabeled unlabelled names text style
    draw diagram flowchart flow chart picture"""
)
STYLE_FILLER = _word_set(
    """with in use using make it them the a an and please pls plz thanks thx also as between no
    without just keep laid out going from to stacked drawn soft plain sharp layer layers show
    add for of process workflow pipeline me can you could would be should i'd like want this
    that can u in into all its their"""
)
STYLE_WORDS = STYLE_CORE | STYLE_FILLER


@functools.lru_cache(maxsize=1 << 16)
def _fix_word(word: str, vocabulary: frozenset[str] | tuple[str, ...], shortest: int = 5) -> str:
    """A typo of a vocabulary word ("fiinally", "lnies") -> that word; other words stay.
    Cached: difflib compares the word with every vocabulary word, half of a request's
    reading time (4.8 ms a request), and people reuse their words."""
    if len(word) < shortest or word in vocabulary or word in NOT_TYPOS:
        return word
    close = difflib.get_close_matches(word, vocabulary, n=1, cutoff=0.8)
    return close[0] if close else word


def _is_style(sentence: str) -> bool:
    """'Dashed lines, top to bottom please!' or 'draw it as a flowchart': no step in it."""
    known = STYLE_WORDS
    found = [_fix_word(w, known, 4) for w in re.findall(r"[a-z']+|\d+", sentence)]
    return bool(found) and all(w in known for w in found) and any(w in STYLE_CORE for w in found)


def _is_aside(sentence: str) -> bool:
    """A closing style wish, 'that's a small cnn' or 'Thanks!'."""
    words = set(re.findall(r"[a-z]+", sentence))
    return _is_style(sentence) or bool(re.match(ABOUT_IT, sentence)) or words <= FILLER


def _sentences(t: str) -> list[str]:
    """Split at sentence ends; a step number ("2.") stays with its step."""
    parts = re.split(r"(?<=[.!?])\s+", t)
    out: list[str] = []
    for part in parts:
        if out and re.fullmatch(r"(?:step\s*)?\(?\d{1,2}[.)]", out[-1]):
            out[-1] += " " + part
        else:
            out.append(part)
    return out


def _drop_style(t: str) -> str:
    """Drop style/meta sentences, and asides ("Thanks!") after the list."""
    sentences = [s for s in _sentences(re.sub(RESIDUAL, "", t)) if not _is_style(s)]
    while sentences and _is_aside(sentences[-1]):
        sentences.pop()
    last = sentences[-1] if sentences else ""
    if sentences and (clause := re.search(r"\s[-–]\s([^-–]+)$", last)) and _is_style(clause[1]):
        sentences[-1] = last[: clause.start()]  # "... -> release - as a diagram please"
    return " ".join(sentences)


def _cut_decision(t: str) -> str:
    """End the text with a decision's question: its branches are not the (one) path."""
    m = re.search(DECISION, t)
    if m is None or (not m["mark"] and not m["check"]):
        return t  # "ask"/"decide" are questions only with their "?"
    before = re.sub(r"(?:[\s,;.]|\b(?:and )?then\b|\bafter that\b)*$", "", t[: m.start()])
    return f"{before}, then {m['q'].strip()}"  # "a, b and c; q" -> "a, b and c, then q"


def _fix_connectives(t: str) -> str:
    """'fiinally x', 'afetr that y' -> 'finally x', 'after that y' (at an item start only)."""
    return re.sub(
        r"(?:^|(?<=[,;:.]\s)|(?<=\bthen\s)|(?<=\band\s))([a-z]{4,})\b",
        lambda m: _fix_word(m[1], CONNECTIVES, 4),
        t,
    )


def _clean_step(item: str) -> str:
    """'and finally deploy it to the edge device.' -> 'deploy to edge device'."""
    s = re.sub(r"\s*\([^()]*\)[\s.!?]*$", "", item.strip())  # "next block (encoder layer)"
    s = re.sub(r"[()\[\]]", " ", s).strip(" \t\n.,;:!?\"'`")
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
        for part in _after_ing(re.split(r"\s+and then\s+|\s+then\s+", item)):
            step = _clean_step(part)
            if re.fullmatch(r"\S+ & \S+", step) and step != "add & norm":
                return steps  # "evaluate & deploy": one block or two? unsure: the chain ends
            if step:
                steps.append(step)
    return steps


def _after_ing(parts: list[str]) -> list[str]:
    """'after collecting the images we resize them' -> two steps, the -ing one first."""
    out = []
    for part in parts:
        m = re.match(r"\s*(?:after|once)\s+(\w+ing\b.*?),?\s+(?:we|i|you|they)\s+(.+)", part)
        out += [m[1], m[2]] if m else [part]
    return out


def _drop_intro(items: list[str]) -> list[str]:
    """'i need a flowchart of collect images' -> 'collect images' (first item only).

    Repeated: 'picture of a cnn with input 32x32' -> 'a cnn with input 32x32' -> 'input 32x32'.
    """
    while items:
        first = items[0]
        ends = [m for m in re.finditer(INTRO_END, first) if re.search(INTRO_ASK, first[: m.end()])]
        strong = [m for m in ends if ":" in m[0] or "-" in m[0] or "–" in m[0]]
        cut = strong[-1] if strong else ends[0] if ends else None
        if cut is None:
            break
        items = [first[cut.end() :], *items[1:]]
    return items


def _one_block(item: str) -> bool:
    """'add & norm', 'and ends with add & norm (block)': one word each side of '&'."""
    core = re.sub(r"\([^)]*\)", " ", item).strip()
    while (stripped := re.sub(LEADING, "", core)) != core:
        core = stripped
    return bool(re.fullmatch(r"\S+ & \S+", core))


def _split_amp(item: str) -> list[str]:
    """'load & refresh report', 'mlp & add & norm' -> two steps; 'add & norm' is one block."""
    return [item] if _one_block(item) else re.split(r"\s+&\s+(?!norm\b)", item, maxsplit=1)


def _split_list(piece: str) -> list[str]:
    """'a and b', 'a & b', 'a > b' -> [a, b] (one step: 'add & norm', 'accuracy > 0.9')."""
    parts = re.split(r"\s+and\s+|(?<=[a-z])\s+>\s+(?=[a-z])", piece, maxsplit=1)
    return [p for part in parts for p in _split_amp(part)]


def _comma_items(text: str) -> list[str]:
    """'a, b, c and d' -> [a, b, c, d]; items inside are kept whole ('x to 1 and y to 2').

    Items split at " & " too ("load & refresh report"), unless both sides are one word:
    "add & norm" is one block.
    """
    items = [i.strip() for i in re.split(r"\s*[,;]\s*", text) if i.strip()]
    if len(items) >= 2 and not items[-1].startswith("and "):
        items[-1:] = re.split(r"\s+and\s+", items[-1], maxsplit=1)
    return [part for item in items for part in _split_amp(item)]


def _numbered(t: str) -> list[str] | None:
    """'1. x 2. y', '1) x 2) y', 'step 1: x. step 2: y' (all marks written alike)."""
    marks = list(re.finditer(NUMBERED, t))
    if marks:
        shape = (bool(marks[0][1]), marks[0][2], marks[0][4].strip())
        marks = [m for m in marks if (bool(m[1]), m[2], m[4].strip()) == shape]
    if len(marks) < 2 or [int(m[3]) for m in marks] != list(range(1, len(marks) + 1)):
        return None
    ends = [m.start() for m in marks[1:]] + [len(t)]
    return [t[m.end() : e] for m, e in zip(marks, ends, strict=True)]


def _lettered(t: str) -> list[str] | None:
    """'a. x  b. y  c. z' or 'i. x ii. y iii. z': the marks in order from a (or i); a mark
    out of order ('e.g.', a stray 'v.') is text."""
    for order in ("abcdefghij", ROMAN):
        marks: list[re.Match[str]] = []
        for m in re.finditer(LETTERED, t):
            if len(marks) < len(order) and m[1] == order[len(marks)]:
                marks.append(m)
        if len(marks) >= 3:
            ends = [m.start() for m in marks[1:]] + [len(t)]
            items = [t[m.end() : e] for m, e in zip(marks, ends, strict=True)]
            items[-1] = re.split(r"[.;!?](?:\s|$)", items[-1])[0]  # drop a trailing sentence
            return [re.sub(r"[\s,;.]*(?:\band)?[\s,;.]*$", "", i) for i in items]
    return None


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
    pieces = [p for piece in _drop_intro(pieces) for p in _split_list(piece)]
    while pieces and re.search(f"{REQUEST}|{FLOW_WORDS}", pieces[0]):
        pieces.pop(0)  # "can you diagram our eval pipeline?"
    return pieces


def _listed(t: str) -> list[str] | None:
    """A comma list after a colon or after 'steps'/'flowchart of', or a bare list of short items."""
    if ":" in t:
        return _comma_items(t.split(":", 1)[1])
    if (said := re.match(GOES, t)) and len(_comma_items(t[said.end() :])) >= 3:
        return _comma_items(t[said.end() :])  # "our ci goes checkout, install deps, ..."
    intros = list(re.finditer(INTRO, t))
    if intros:  # "a flowchart with these steps load data, ..."
        return _comma_items(t[intros[-1].end() :])
    items = _comma_items(t)
    if len(items) > 3 and re.match(PURPOSE, items[0]):
        items = items[1:]  # "to build the index, we parse pdfs, split ..., and store ..."
    bare = (
        re.search(REQUEST, t) is None
        and any(len(i.split()) > 1 for i in items)  # "relu, sigmoid, tanh" is not a process
        and all(len(_clean_step(i).split()) <= 5 and not re.match(r"(?:a|an|the)\b", i)
                for i in items)  # fmt: skip
    )
    return items if bare else None


def _sentenced(t: str) -> list[str] | None:
    """'Download the dataset. Unzip it. Resize every image. Train the model. Done.': three
    or more short sentences, each one step."""
    found = [s.strip(" .!?") for s in _sentences(t) if _clean_step(s)]
    short = all(len(s.split()) <= 7 and "," not in s for s in found)
    return found if len(found) >= 3 and short and re.search(REQUEST, t) is None else None


# strongest marker first; lists need three steps, marked sequences two
FINDERS: list[tuple[Callable[[str], list[str] | None], int]] = [
    (_numbered, 2),
    (_lettered, 3),
    (_bulleted, 2),
    (_arrowed, 2),
    (_then_chain, 2),
    (_listed, 3),
    (_sentenced, 3),
]


def dashed_list(t: str) -> str:
    """'fine tuning recipe - pick base - format data - eval' on one line is a bulleted list
    (its first item a title): each ' - ' starts a bullet line."""
    return t.replace(" - ", "\n- ") if t.count(" - ") >= 2 and "\n" not in t.strip() else t


def _sizes_a_layer(item: str) -> bool:
    """'2 nodes', 'four hidden', '3 inputs', '1 in': a layer of a network, not a step."""
    s = words_to_digits(_clean_step(item))
    role = re.search(r"(?:^|\s)\d+\s+(?:(?:nodes?|neurons?|units?)\s+)?([a-z]+)\b", s)
    code = re.search(r"[a-z]\s*=\s*[\d\[]|=\s*$", s)  # "in=4", "hidden=[3, 5]"
    return bool(re.search(SIZES, s) or code) or bool(role and _fix_word(role[1], ROLES) in ROLES)


def inline_list(t: str) -> str:
    """A list written on one line, '• a • b • c', 'a | b | c', 'a) x b) y c) z' or '1 x 2 y
    3 z', one item a line; an intro before an em dash ('stages in order — a, b, c') ends
    like one before a colon."""
    if len(re.findall(r"(?:^|\s)•\s", t)) >= 2:
        t = re.sub(r"(?:^|\s)•\s+", "\n- ", t).strip()
    if "\n" not in t.strip() and t.count(" | ") >= 2:  # "title: a | b | c": the title apart
        head, colon, first = t.partition(": ") if ": " in t.split(" | ")[0] else ("", "", t)
        t = head + colon + "\n- " + first.replace(" | ", "\n- ")
    t = _bare_numbers(t)
    letters = re.findall(r"(?:^|\s)([a-h])\)\s", t)
    if len(letters) >= 3 and "".join(letters) == "abcdefgh"[: len(letters)]:
        t = re.sub(r"(?:^|\s)[a-h]\)\s+", "\n- ", t).strip()
    return re.sub(r"\s+[—–]\s+", ": ", t)


_BARE_NUMBER = re.compile(r"(?:^|(?<=[a-z:]\s))(\d)\s+(?=[a-z])")  # "... 2 update ..."


def _bare_numbers(t: str) -> str:
    """'rollback: 1 find last good version 2 update the tag 3 roll out' on one line: items
    numbered 1, 2, 3, ... without a dot or bracket, each number after a word (not after a
    comma or 'and', as sizes are: '1 input, 2 hidden layers of 3 nodes')."""
    if "\n" in t.strip():
        return t
    numbers = [int(n) for n in _BARE_NUMBER.findall(t)]
    if len(numbers) < 3 or numbers != list(range(1, len(numbers) + 1)):
        return t
    return _BARE_NUMBER.sub("\n- ", t).strip()


def flow_steps(text: str) -> list[str] | None:
    """Ordered step names, or None."""
    t = text.strip().lower()
    t = re.sub(
        r"\bstep (one|two|three|four|five|six|seven|eight|nine)\b",
        lambda m: f"step {UNITS[m[1]]}",
        t,
    )
    t = re.sub(r"\b[a-z]{5,}\b", lambda m: _fix_word(m[0], ("decide", "decision")), t)
    t = inline_list(dashed_list(t))
    t = _cut_decision(_drop_style(_fix_connectives(t)))
    if re.search(FORK, t) or any(_fix_word(w, ("parallel",)) == "parallel" for w in t.split()):
        return None
    found = next(
        ((items, least) for find, least in FINDERS if (items := find(t)) is not None), None
    )
    if found is None:
        return None
    items, least = found
    items = _drop_intro(items)
    while items and _is_style(items[-1]):
        items.pop()  # "a, b, c, in blue please"
    network_ish = r"\d.*\b(?:inputs?|outputs?|hidden)\b|\b(?:inputs?|outputs?|hidden)\b.*\d"
    if any(_sizes_a_layer(i) or (least == 3 and re.search(network_ish, i)) for i in items):
        return None  # layer sizes ("2 nodes, 3 nodes, 1 node") describe a network, not a flow
    steps = _steps(items)
    if any(re.fullmatch(r"\d[\d\s.,]*", s) for s in steps):
        return None  # "3, 5, 2" are sizes, not steps
    if len(steps) < least or any(len(s.split()) > MAX_STEP_WORDS for s in steps):
        return None
    return steps
