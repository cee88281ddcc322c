"""Read a data flow from a request: processes, the data they take and make, and the wiring.

"a Python script reads the CSV and outputs a dataframe; PCA turns the dataframe into a
matrix; a model takes the matrix and outputs a chart", or the original project's "LLM
process that contains: - a python file that processes a picture and outputs text and
matrices - a PCA converts the matrices into a chart". Each clause (bullets, semicolons,
sentences, "then") states one process and what goes in and out:

    P reads / takes / processes / receives / loads / uses X [and outputs / produces Y]
    P converts / turns / transforms / maps X into / to Y
    P outputs / produces / returns / generates / creates Y [from X]
    X goes / is fed / is passed into P [which outputs Y]

X and Y may be lists ("text and matrices"). Names are the request's words without articles
and filler ("python file that" -> "python file"). A datum that one clause makes and a later
one uses is one node (matched by name, ignoring plurals), so joins and forks come out of the
wording. `dataflow(text)` gives (steps, data indices, edges) in the sketch's terms, or None
when fewer than two clauses read, or any clause does not read (conservative: a wrong
structure is worse than none).
"""

from __future__ import annotations

import re

MAX_WORDS = 5  # a name longer than this is a sentence, not a box
IN_VERBS = (
    r"reads?|takes?(?: in)?|processe?s|process|receives?|loads?|uses?|gets?|consumes?"
    r"|ingests?|accepts?|analy[sz]es|parses?"
)
OUT_VERBS = (
    r"outputs?|produces?|returns?|generates?|creates?|gives?|writes?|emits?|yields?|makes?"
    r"|saves?|spits out|results in"
)
CONVERT = r"converts?|turns?|transforms?|maps?|changes?|encodes?|translates?|embeds?"
_ARTICLES = re.compile(r"\b(?:a|an|the|some|its|their|it|them|this|that|these|those|our|my)\b")
_FILLER = re.compile(r"\b(?:which|that|who|then|and then|also|finally|first|next|after that)\b")
_SPLIT = re.compile(r"\s*(?:\n|;|(?<!\w)[-*•]\s+|\.(?:\s|$)|\bthen\b|\bafter that\b)\s*")
_INTRO = re.compile(
    r"^.*?\b(?:contains?|containing|consists? of|with|has|steps?|as follows)\s*:?\s*$"
)
_LIST = re.compile(r"\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s*&\s*|\s+plus\s+)\s*")


def _name(words: str) -> str:
    """A box name: lowercase, no articles or filler, spaces tidied."""
    t = _ARTICLES.sub(" ", words.lower())
    t = _FILLER.sub(" ", t)
    t = re.sub(r"[^\w\s.+#/-]", " ", t)
    return " ".join(t.split()).strip(" .")


def _names(words: str) -> list[str] | None:
    names = [_name(w) for w in _LIST.split(words)]
    names = [n for n in names if n]
    if not names or any(len(n.split()) > MAX_WORDS for n in names):
        return None
    return names


_PATTERNS = [
    # inputs X, and outputs Y and process them with P (the original project's wording)
    re.compile(
        rf"^(?:takes?|inputs?|reads?)\s+(?P<x>.+?),?\s+and\s+(?:{OUT_VERBS})\s+(?P<y>.+?)"
        r",?\s+and\s+process(?:es)?\s+(?:them|it|this)\s+(?:with|using|by|through)\s+(?P<p>.+)$"
    ),
    # P is used to convert X into Y
    re.compile(
        rf"^(?P<p>.+?)\s+(?:is|are)\s+used\s+to\s+(?:{CONVERT}|{IN_VERBS})\s+(?P<x>.+?)"
        r"(?:\s+(?:into|to)\s+(?P<y>.+))?$"
    ),
    # P converts X into Y
    re.compile(rf"^(?P<p>.+?)\s+(?:{CONVERT})\s+(?P<x>.+?)\s+(?:into|to|in)\s+(?P<y>.+)$"),
    # P reads X and outputs Y / P reads X, outputs Y
    re.compile(
        rf"^(?P<p>.+?)\s+(?:{IN_VERBS})\s+(?P<x>.+?)\s*(?:,\s*|\s+)(?:and\s+)?(?:{OUT_VERBS})"
        rf"\s+(?P<y>.+)$"
    ),
    # P outputs Y from X
    re.compile(rf"^(?P<p>.+?)\s+(?:{OUT_VERBS})\s+(?P<y>.+?)\s+from\s+(?P<x>.+)$"),
    # X goes into P which outputs Y
    re.compile(
        rf"^(?P<x>.+?)\s+(?:goes|is fed|are fed|is passed|are passed|is sent|are sent|flows?)"
        rf"\s+(?:in)?to\s+(?P<p>.+?)(?:\s*,?\s+(?:which|that)?\s*(?:{OUT_VERBS})\s+(?P<y>.+))?$"
    ),
    # P reads X
    re.compile(rf"^(?P<p>.+?)\s+(?:{IN_VERBS})\s+(?P<x>.+)$"),
    # P outputs Y
    re.compile(rf"^(?P<p>.+?)\s+(?:{OUT_VERBS})\s+(?P<y>.+)$"),
]


def _clause(text: str) -> tuple[list[str], str, list[str]] | None:
    """(inputs, process, outputs) of one clause, or None when it does not read."""
    t = re.sub(r"^\s*(?:\d+[.)]|step \d+:?)\s*", "", text.lower()).strip(" ,.")
    for pattern in _PATTERNS:
        m = pattern.match(t)
        if not m:
            continue
        groups = m.groupdict()
        process = _name(groups["p"] or "")
        xs = _names(groups.get("x") or "") if groups.get("x") else []
        ys = _names(groups.get("y") or "") if groups.get("y") else []
        if not process or len(process.split()) > MAX_WORDS or xs is None or ys is None:
            return None
        if not xs and not ys:
            return None
        return xs, process, ys
    return None


def _key(name: str) -> str:
    """Names equal up to plurals are one node ("matrix"/"matrices" aside)."""
    words = [re.sub(r"(?:ies)$", "y", w) if len(w) > 4 else w for w in name.split()]
    words = [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
             for w in words]
    return " ".join(words)


def dataflow(
    text: str,
) -> tuple[tuple[str, ...], tuple[int, ...], tuple[tuple[int, int], ...]] | None:
    """(step names, indices of data steps, edges) of a data-flow request, or None."""
    body = text.strip()
    clauses = [c for c in _SPLIT.split(body) if c and c.strip(" ,.:")]
    if clauses and _INTRO.match(clauses[0].lower()):
        clauses = clauses[1:]
    elif clauses and ":" in clauses[0]:
        clauses[0] = clauses[0].split(":", 1)[1]
    read = [_clause(c) for c in clauses if c.strip(" ,.:")]
    if len(read) < 2 or any(r is None for r in read):
        return None
    names: list[str] = []
    data: list[int] = []
    index: dict[tuple[str, str], int] = {}

    def node(name: str, is_data: bool) -> int:
        key = ("data" if is_data else "process", _key(name))
        if key not in index:
            index[key] = len(names)
            names.append(name)
            if is_data:
                data.append(index[key])
        return index[key]

    edges: list[tuple[int, int]] = []
    for xs, process, ys in read:  # type: ignore[misc]
        ins = [node(x, True) for x in xs]
        p = node(process, False)
        outs = [node(y, True) for y in ys]
        for a, b in [(i, p) for i in ins] + [(p, o) for o in outs]:
            if (a, b) not in edges:
                edges.append((a, b))
    if len(names) < 3 or len(names) > 60:
        return None
    return tuple(names), tuple(data), tuple(edges)
