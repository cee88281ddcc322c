"""Read a node list (DESIGN.md, "The diagram format") from a model's answer, without eval.

The text is tokenised, never evaluated. Prose around the list (a sentence, a code fence) is
skipped: only text inside square brackets is read. A bracket group whose first item is a
number is one node; a group whose first item is itself a group is a list of nodes (the
outer list, or a JSON wrapper's). Bad nodes become Problems with their line and are dropped;
a cut-off answer keeps its complete nodes and reports "truncated".
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import NamedTuple

from engine.diagram.model import (
    MAX_INPUT_BYTES,
    MAX_NODES,
    RGB,
    Diagram,
    DiagramError,
    Node,
    ParseResult,
    Problem,
)

MAX_DEPTH = 10  # outer list, node, colour: 3 levels; wrappers need a few more, no more
MAX_NUMBER = 1_000_000  # far off any canvas; keeps the renderer's integer maths safe
EXAMPLE = "[0, 100, 300, 'circle', 40, 40, 'solid arrow', (255, 255, 255), (0, 0, 0), [1]]"
# Names models use for our shapes and line styles, after case and spacing are normalised.
ALIASES = {
    "rounded rectangle": "round rectangle",
    "roundrectangle": "round rectangle",
    "rect": "rectangle",
    "ellipse": "circle",
    "oval": "circle",
    "arrow": "solid arrow",
    "line": "solid line",
    "dashed": "dashed line",
}
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}

_TOKEN = re.compile(  # blanks and "# comments" first, then one token
    r"""
    (?:\s+|\#[^\n]*)*
    (?:
      (?P<end>\Z)
    | (?P<open>[\[(])
    | (?P<close>[\])])
    | (?P<comma>,)
    | (?P<num>[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)
    | (?P<str>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
    | (?P<word>[^\W\d][\w\- ]*)
    | (?P<badstr>['"][^\n]*)
    | (?P<other>[^\s\w\[\](),'"\#]+|.)
    )
    """,
    re.VERBOSE,
)


class _Token(NamedTuple):
    kind: str  # a group name of _TOKEN
    text: str
    line: int
    first: bool  # the first token on its line


@dataclass
class _Group:
    """A bracketed group: a node, a colour, a target list or a list of nodes."""

    line: int
    items: list[_Token | _Group] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)
    closed: bool = False
    at_eof: bool = False  # the text ended before the group closed
    end_line: int = 0  # line of its last token

    def is_node(self) -> bool:
        return bool(self.items) and isinstance(self.items[0], _Token)


class _Bad(Exception):
    """One field of a node is wrong (internal; becomes a Problem)."""

    def __init__(self, line: int, why: str) -> None:
        super().__init__(why)
        self.line, self.why = line, why


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text, self.pos, self.last_line = text, 0, 0
        self.newlines = [m.start() for m in re.finditer("\n", text)]
        self.ahead: _Token | None = None  # a token handed back to be read again

    def seek_list(self) -> bool:
        """Skip prose up to the next '['; False when there is none."""
        if self.ahead:
            return True
        i = self.text.find("[", self.pos)
        self.pos = i if i >= 0 else len(self.text)
        return i >= 0

    def next(self) -> _Token | None:
        if self.ahead:
            tok, self.ahead = self.ahead, None
            return tok
        m = _TOKEN.match(self.text, self.pos)
        assert m is not None and m.lastgroup  # `other` takes any character the blanks leave
        self.pos = m.end()
        if m.lastgroup == "end":
            return None
        line = bisect_left(self.newlines, m.start(m.lastgroup)) + 1
        tok = _Token(m.lastgroup, m[m.lastgroup].rstrip(), line, line > self.last_line)
        self.last_line = line
        return tok


def parse(text: str) -> ParseResult:
    """The diagram in `text` and the problems met; DiagramError when there is no usable list."""
    if not isinstance(text, str):
        raise DiagramError(f"expected text, got {type(text).__name__}")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_INPUT_BYTES:
        raise DiagramError(f"input is {size} bytes; the limit is {MAX_INPUT_BYTES} (64 KiB)")
    scanner, attempts, problems = _Scanner(text), [], []
    while scanner.seek_list():
        opener = scanner.next()
        assert opener is not None
        _collect(_read_group(scanner, opener, 1), attempts, problems, top=True)
    if not attempts:
        raise DiagramError(f"no node list found: expected one node a line, like {EXAMPLE}")
    if len(attempts) > MAX_NODES:
        raise DiagramError(f"{len(attempts)} nodes; the limit is {MAX_NODES}")
    nodes = []
    for group in attempts:
        try:
            nodes.append(_node(group))
        except _Bad as bad:
            what = "truncated" if group.at_eof else "bad node"
            first = group.items[0]
            node_id = _id_or_none(first) if isinstance(first, _Token) else None
            problems.append(Problem(what, bad.why, bad.line, node_id))
    problems.sort(key=lambda p: p.line or 0)
    return ParseResult(Diagram(tuple(nodes)), problems)


def _read_group(sc: _Scanner, opener: _Token, depth: int, in_node: bool = False) -> _Group:
    if depth > MAX_DEPTH:
        raise DiagramError(f"brackets nested deeper than {MAX_DEPTH} levels (line {opener.line})")
    group, want_item = _Group(opener.line), True
    while (tok := sc.next()) is not None:
        group.end_line = tok.line
        if tok.kind == "close":
            group.closed = True
            return group
        if tok.kind == "comma":
            if want_item:
                group.errors.append((tok.line, "an empty field (two commas in a row)"))
            want_item = True
            continue
        if tok.kind in ("badstr", "other"):
            what = "an unterminated string" if tok.kind == "badstr" else f"unexpected {tok.text!r}"
            group.errors.append((tok.line, what))
            continue
        if tok.kind == "open":
            if tok.first and tok.text == "[" and (in_node or group.is_node()):
                sc.ahead = tok  # a node starts on a new line: this one was left open
                return group
            item: _Token | _Group = _read_group(sc, tok, depth + 1, in_node or group.is_node())
        else:
            item = tok
        if not want_item and group.is_node():  # commas between nodes are optional
            group.errors.append((tok.line, f"a missing comma before {_show(item)}"))
        group.items.append(item)
        want_item = False
    group.at_eof = True
    return group


def _collect(group: _Group, attempts: list[_Group], problems: list[Problem], top: bool) -> None:
    """Gather the node attempts in `group`, reporting what is neither node nor list."""
    if group.is_node():
        first = group.items[0]
        # A top-level "[see above]" is prose; anything longer or id-led is a node attempt.
        if not top or len(group.items) >= 3 or (isinstance(first, _Token) and first.kind == "num"):
            attempts.append(group)
        return
    if not group.items:  # "[]" or "[*]" in prose, or a cut-off answer
        if group.at_eof:
            problems.append(Problem("truncated", "the text ends right after a '['", group.line))
        return
    for line, why in group.errors:
        problems.append(Problem("unexpected text", f"{why} between nodes", line))
    for item in group.items:
        if isinstance(item, _Group):
            _collect(item, attempts, problems, top=False)
        else:
            problems.append(Problem("not a node", f"{_show(item)} is not a node", item.line))
    last = group.items[-1]
    if group.at_eof and not (isinstance(last, _Group) and last.at_eof):  # else the node says so
        why = "the list of nodes is never closed; the answer may have been cut off"
        problems.append(Problem("truncated", why, group.end_line))


def _node(g: _Group) -> Node:
    if g.at_eof:
        raise _Bad(g.line, "the text ends inside this node; it was cut off")
    if not g.closed:  # what follows on other lines was swallowed: blame the opening line
        first = _first_error(g)
        why = first[1] if first and first[0] == g.line else "this node's '[' is never closed"
        raise _Bad(g.line, why)
    if first := _first_error(g):
        raise _Bad(*first)
    items = g.items
    if len(items) not in (10, 11):
        raise _Bad(g.line, f"{len(items)} fields; a node has 10, or 11 with a label")
    return Node(
        id=_number(items[0], "id", whole=True),
        x=_number(items[1], "x_center"),
        y=_number(items[2], "y_center"),
        shape=_style(items[3], "shape"),
        width=_number(items[4], "width"),
        height=_number(items[5], "height"),
        line_style=_style(items[6], "line_shape"),
        fill=_rgb(items[7], "fill"),
        line_color=_rgb(items[8], "line_color"),
        targets=_targets(items[9]),
        label=_label(items[10]) if len(items) == 11 else "",
    )


def _id_or_none(item: _Token) -> int | None:
    try:
        return _number(item, "id", whole=True)
    except _Bad:
        return None


def _first_error(g: _Group) -> tuple[int, str] | None:
    if g.errors:
        return g.errors[0]
    nested = (_first_error(item) for item in g.items if isinstance(item, _Group))
    return next((e for e in nested if e), None)


def _number(item: _Token | _Group, name: str, whole: bool = False) -> int:
    if not (isinstance(item, _Token) and item.kind == "num"):
        raise _Bad(item.line, f"{name} must be a number, not {_show(item)}")
    value = float(item.text)
    if abs(value) > MAX_NUMBER:
        raise _Bad(item.line, f"{name} {item.text} is beyond ±{MAX_NUMBER}")
    if whole and not value.is_integer():
        raise _Bad(item.line, f"{name} must be a whole number, not {item.text}")
    return round(value)


def _style(item: _Token | _Group, name: str) -> str:
    if not (isinstance(item, _Token) and item.kind in ("str", "word")):
        raise _Bad(item.line, f"{name} must be a name like 'solid arrow', not {_show(item)}")
    text = _unquote(item.text) if item.kind == "str" else item.text
    text = re.sub(r"[\s_-]+", " ", text).strip().lower()
    return ALIASES.get(text, text)  # unknown names stay; validation reports them


def _rgb(item: _Token | _Group, name: str) -> RGB:
    if not (isinstance(item, _Group) and len(item.items) == 3):
        raise _Bad(item.line, f"{name} must be three numbers (R, G, B), not {_show(item)}")
    r, g, b = (_number(part, name) for part in item.items)
    return (r, g, b)


def _targets(item: _Token | _Group) -> tuple[int, ...]:
    if isinstance(item, _Token):  # a lone id instead of a list
        return (_number(item, "targets", whole=True),)
    return tuple(_number(part, "targets", whole=True) for part in item.items)


def _label(item: _Token | _Group) -> str:
    if isinstance(item, _Group):
        raise _Bad(item.line, f"label must be text, not {_show(item)}")
    return _unquote(item.text) if item.kind == "str" else item.text


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m[1], m[0]), text[1:-1])


def _show(item: _Token | _Group) -> str:
    if isinstance(item, _Group):
        return f"a list of {len(item.items)}"
    return repr(item.text if len(item.text) <= 24 else item.text[:21] + "...")
