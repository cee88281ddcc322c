"""Read a request's structure in general: its steps and the branches, loops, skips, forks
and joins between them (`read_structure(text)` -> Graph or None). spec_graph.loop_first
and spec_graph.fork_join ask it first (see there for when spec.py calls them).

One clause grammar instead of a pattern per wording:

1. Clauses. Verbs of passing are arrows first ("goes into", "is fed to", "feeds", "which
   outputs", "goes through"). The text is cut into lines (bullets, `1.`, `step 1:`, `stage
   1`, " - " lists; a title line before a list, chat such as "wait how do i show this...",
   and a request question "could you draw ...?" are no steps), sentences, `;`, `,` and the
   connectives "then", "after that", "finally"; each clause into items at arrows (`->`,
   `→`, `=>`; not inside parentheses). A question ends its clause. A list after "to" / "into"
   or after "feeds 3 heads:" stays one clause, for a fork.
2. Steps. An item is shortened to a label of the request's own words (no articles,
   pronouns or connectives). A name said again is the same step ("... -> stuff into
   prompt", later "web search -> stuff into prompt"), unless going there would close a
   cycle that no loop word asks for ("conv, relu, conv": two convs).
3. Relations, from the words of a clause:
   - conditions: a question ("tests pass?", "does x have y?" -> "x has y?") is a decision
     step; what follows it is its yes branch unless "yes / no / else / ✅ / ❌ / <outcome>
     ->" says which; "q ? a : b" and "a if c else b" are ternaries. "if <cond> a, else b" is
     a decision step "<cond>?" with edges "yes" and "else"; an "if" with no else anywhere,
     several "if"s, a one-word or pronoun condition ("if they pass"), or a condition about
     a drawn step ("if dedupe removes ...") label an edge from the step before with the
     condition's predicate ("if the output is good" -> good); "did it improve?" is decided
     by the step before. Outcomes said alone ("high risk -> block", "< 7 -> regenerate",
     "patience hits 3 -> stop") label edges too. An empty branch ("otherwise leave it")
     passes its label to what follows, which the other branches meet in a later sentence;
     "go straight to x" ends the other branches at x.
   - loops: "repeat / again / go back to <x> / back to step N / until / loop / N times /
     alternate / next round / re-<step>" close an edge back to the named step, else to
     the first step of the loop (after a set-up step); "for each x: ...", "for each x
     <verb> ...", "while x: ...", "loop { ... }", "repeat: ..." wrap the steps of their
     sentence. A lone "re-<verb>" branch ("< 7 -> regenerate") is a step, then the loop.
   - forks: "<x> splits into / goes to / feeds / sends ... to <a>, <b> and <c>", "<a> and
     <b> in parallel", "<a>, <b> and <c> each ...", a pair in a chain ("mu and logvar",
     "expert 1 or expert 2"), a clause that starts from a drawn step ("x -> 1x1 conv -> add").
   - joins: "both / all three / their outputs ... concatenated / merged / go into <y>",
     "<a> and <b> -> <c>", "which also receives <x>", a clause whose chain reaches a
     drawn step (a second path).
   - skips: a clause naming two drawn steps ("shortcut from the input to the add", "l1 into
     l3", "x also goes straight to the multiply"), an add / sum / concat / multiply "with
     <x>", "+ x", "multiply x by that", notes in parentheses or in the intro, and
     "(identity / residual)" on an add with no source named.
   Edge labels keep no word of a step (a label naming a step would be drawn as one).
4. It returns None unless the result is more than a chain (a plain list is the flow
   reader's), every step is short enough to be a step, and the text is no network (layer
   sizes) and at most MAX_CHARS long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine.diagram.blocks import kind_of
from engine.diagram.fidelity import matches, words
from engine.diagram.spec_flow import dashed_list

MAX_STEP_WORDS = 8
MAX_STEPS = 24
MAX_CHARS = 600
RECEIVES = re.compile(  # the step said first takes what the second gives
    r"\b(?:also )?(?:takes|gets|receives|sees|is given|is concatenated with|is fed)\b"
    r"(?! (?:to|into)\b)"
)
ARROW = r"\s*(?:-+>|→|⟶|=+>|➔|➡️?|⇒|⟹)\s*"
_EMOJI_YES, _EMOJI_NO = "✅✔👍", "❌✖👎"
SETUP = re.compile(
    r"^(?:load|split|init\w*|prepare|collect|gather|read data|download|preprocess|set up|setup|"
    r"create|define|pretrain|reset|start from|start with)\b"
)
LEAD = re.compile(  # connectives and request words before a step
    r"^(?:and|then|so|also|plus|finally|lastly|first(?:ly)?(?!\s+\d)|next(?!\s+\d)"
    r"|after (?:that|it|this)|afterwards|once done"
    r"|at (?:each|every) (?:step|time)|each time|every time"
    r"|(?:go |skip |jump )?(?:straight|directly)(?: to)?|to(?=\s+\S)"
    r"|at the end|we|i|you|just|pls|please|plz|ok so|basically|now|draw|step \d+\s*[:.)-]?"
    r"|stage \d+\s*[:.)-]?|\d+[.)](?!\d)|after (?:the last|all|each|every) \w+|once done"
    r"|go(?:es)? (?:to|into)|goes through|feeds? into|fed (?:in)?to|which (?:then )?goes to"
    r"|(?:skips?(?= (?:connections?|path|from)\b)|skips|shortcut|residual|identity)"
    r"(?: connections?| path)?(?: from)?(?=\s+\S)"
    r"|(?:plus |with )?(?:extra |more |additional )?(?:arrows|edges|links)(?: from)?(?=\s+\S))\b\s*"
)
DROP = re.compile(
    r"(?<![\w'/])(?:the|a(?=\s+(?!(?:and|or)\b)\S)|an|it|them|this|that|these|those|our|my|its|their|pls|"
    r"please|plz|we|you|u|i|also)(?![\w'/])"
)
TAIL = re.compile(
    r"\s+(?:on|to|with|in|into|for|of|from|by|and)\s*$"
    r"|\s+(?:again|too|as well|all|first|itself|also|directly)\s*$"
)
# branch heads
YES = r"(?:yes|yep|if yes|if so|if true|true|(?:if|when) (?:it|they) (?:does|do|did))"
NO = r"(?:no|nope|if not|if no|not|false|if false|(?:if|when) (?:it|they) (?:doesn't|don't|didn't))"
ELSE = r"(?:else|otherwise|or else)"
COND = re.compile(r"^(?:if|when|whenever|in case of|in case|on|unless)\s+(?P<c>.+)$")
# where a condition without a comma ends: before an action verb or a pronoun subject
ACTION_WORDS = (
    "deploy ship save merge promote stop return call use send fix tune retrain keep collect "
    "trigger give rewrite go continue load run log alert approve reject publish release "
    "discard retry restart skip flag notify escalate accept push wait resend subsample "
    "convert block page drop add tweak raise reply print write train evaluate report parse "
    "cluster apply switch fall try show place buy sell sleep ping email open close mark tag "
    "route answer cache emit queue schedule archive delete remove blur append resample upsert "
    "resize crop normalize tokenize embed predict classify compute update ask pick choose "
    "select increase decrease lower test start end finish "
)
ACTION = ACTION_WORDS.split()
COND_ENDS = [  # where a condition with no comma ends, in order of trust
    re.compile(r"\s*(?:,|:|\bthen\b|->)\s*"),
    re.compile(r"\s+(?=(?:we|i|you|they)\b)"),
    re.compile(r"(?<![\w.])(?:\d[\d.,]*(?:%|[kmb]|ms|s)?|\^\w+)\s+(?=(?:\w+\s+)?(?:we|i)\b)"),
]


def _cond_end(cond: str) -> re.Match[str] | None:
    for pattern in COND_ENDS:
        m = pattern.search(cond)
        if m and m.start() > 0:
            return m
    return COND_END.search(cond)


COND_END = re.compile(
    r"\s*(?:,|:|\bthen\b|->)\s*|\s+(?=(?:we|i|you|they)\b)"
    r"|(?<![\w.])(?:\d[\d.,]*(?:%|[kmb]|ms|s)?(?:\s+[a-z]+s\b)?|\^\w+)\s+"
    r"|\s+(?=(?:" + "|".join(ACTION) + r")\b(?!\s+(?:after|before|below|above|by|more|less)\b))"
)
LOOP_WORDS = re.compile(
    r"\b(?:repeat\w*|again\b|loop\w*|^iterate$|until\b|till\b|go back|back to|return to|alternate|"
    r"back in(?:to)?|back as|"
    r"next round|keep going|do (?:that|this) \d+|\d+\s*(?:x|times)\b|starts? over|^for \d+ epochs|"
    r"^\d+k?\s*(?:trials|rounds|iterations|iters)$)"
)
LOOP_INTRO = re.compile(
    r"^(?P<how>(?:for (?:each|every|all) [^:,]+?|for [\w-]+(?:\s*,\s*[\w-]+)? in [^:]+?|"
    r"while [^:]+?|do until [^:]+?|"
    r"loop over [^:]+?|iterate over [^:]+?|repeat(?: \d+ times| for \w+ \w+)?|"
    r"\d+ times))\s*(?::|->)\s*(?P<rest>.*)$"
)
BACK = re.compile(
    r"\b(?:go(?:es)? back to|back to|loop back to|return to|jump to|restart from|"
    r"repeat(?: (?:\d+|\w+) times)? (?:starting )?from|"
    r"back in(?:to)?|back as|back in as)"
    r"\s+(?:(?:step|stage)\s+)?"
    r"(?P<x>.+?)(?=\s+(?:until|while|if|when|unless|for|and then|with)\b|$)"
)
JOIN_VERB = (
    r"concat\w*|merged?|combined?|added|summed|joined|fused|averaged|stacked|hstacked|"
    r"all-reduced|aggregated|multiplied"
)
JOIN = re.compile(
    r"^(?:both|all(?: \w+)?|the two|these|they|them|each|their \w+|the \w+ outputs?|"
    r"the outputs?|outputs?|results?|the results?|(?:\w+ ){0,3}outputs)\b.*?"
    rf"(?:(?P<verb>{JOIN_VERB})|(?:feed|go|goes|flow|end up|end|meet|come together|"
    r"are fed|get fed|have to pass before|pass into|feed into)\b)"
    r"(?:\s+(?:\w+\s+)?(?:into|in|to|at|before|->|→)?\s*(?P<y>.*))?$"
)
JOIN_SELF = re.compile(
    r"^(?P<verb>concat\w*|merge|combine|sum|add|average)\s+(?:them|all|both|their \w+)\b"
    r"(?:\s+and\s+(?:feed|send|pass|give)\w*\s+(?:(?:in)?to\s+)?(?P<y>.+)"
    r"|\s+(?P<by>with|using|via|by)\s+(?P<w>.+))?"
)
FORK = re.compile(
    r"^(?:(?P<x>.+?)\s+)?(?:splits?|is split|gets split|goes|go|feeds?|branches(?: out)?|fans out|"
    r"forks?|(?:is |are )?sent|sends(?: \w+){0,2} to|is fed|passes|picks|fan(?:s|ning)? out|"
    r"gives|produces|outputs|yields|emits)\s*"
    r"(?:(?:in)?to|into|in|through|thru)?\s*(?:(?:two|three|four|\d+)\s*(?:ways?|branches|"
    r"paths|parts|heads|streams|parallel branches)?\s*)?(?::|\s)\s*(?P<list>.+)$"
)
SAME = re.compile(  # "same input to xgboost, a forest and an mlp": the input feeds them
    r"^(?:[\w -]+:\s*)?(?:the )?same (?P<x>[\w-]+(?: [\w-]+)?) "
    r"(?:goes |is fed |is sent |is given )?to (?P<list>.+)$"
)
FORK_SIGNAL = re.compile(
    r"\b(?:branch\w*|parallel|heads|both|fork\w*|(?:two|three|2|3) (?:paths|ways|towers)|"
    r"at the same time|simultaneously)\b"
)
NETWORK = re.compile(  # layer sizes: a network, the network reader's
    r"\b(?:\d+|one|two|three|four|five|six|eight|ten)\s+(?:hidden\b|neurons?\b|nodes?\b|units?\b)"
    r"|\bhidden layers?\b|\b\d+\s+inputs?\b.*\b\d+\s+outputs?\b"
)
JOIN_STEP = r"merge|concat\w*|combine|sum|add|average|fuse|join|vote|ensemble"
JOIN_SIGNAL = re.compile(
    r"\b(?:both|all (?:three|four|of them)|concat\w*|merged?|combined|meet|joined|summed|"
    r"averaged|fused|towers?|parallel|each|(?:of|from|combines|averages) the two)\b"
)
JOIN_HEAD = re.compile(
    r"^(?:(?P<names>.+?)\s+(?:both|all|each)|(?P<pair>[\w-]+(?: [\w-]+){0,2} and [\w-]+"
    r"(?: [\w-]+){0,2})|both|all(?: three| four| of them)?|the two|these|"
    r"they|their \w+|the \w+ outputs?|outputs?|results?)"
    rf"(?:\s+(?:\w+\s+)?(?:are |get |is )?(?P<verb>{JOIN_VERB}))?(?:\s+\w+)?$"
)
EACH = re.compile(r"^(?P<list>.+?\s+(?:and|&)\s+.+?)\s+(?:each|both|all)\b(?P<rest>.*)$")
PARALLEL = re.compile(r"\b(?:in parallel|at the same time)\b")
SKIP_WORDS = re.compile(r"\b(?:skip\w*|shortcut|residual|identity|also|directly|straight)\b")
OP = re.compile(
    r"^(?:gets |is |are )?(?:(?P<op>added)\s+to|(?P<op2>add|sum|concat\w*|multiply|scale)\s+"
    r"(?:with|by|w)|(?P<op3>\+))\s*(?P<x>.*)$"
)
NEGATED = re.compile(r"(?<=\s)(?:(?:do|does|did)\s+)?(?:not|never)\s+|(?<=\w)n't(?=\s)")
NEXT = re.compile(r"^(?P<v>\w+) (?:the |a )?(?:next|another) (?P<x>\w+)$")  # "pick the next one"
TAKES = re.compile(  # the model a request is about, taking its input
    r"^(?:where\s+)?(?:the\s+)?(?:[\w-]+\s+)?(?:cnn|model|network|net|rnn|lstm|mlp|transformer)"
    r"\s+(?:takes?|gets?|receives?|reads?)\s+(?:the\s+|an?\s+)?(?P<x>.+)$"
)
ADDED_TO = re.compile(  # "the image is also added to (the) output of conv2"
    r"^(?P<x>.+?)\s+(?:is|are|gets|get)\s+(?:also\s+)?(?P<op>added|summed|concatenated|multiplied)"
    r"\s+(?:to|with)\s+(?:the\s+)?(?:outputs?\s+of\s+(?:the\s+)?)?(?P<y>[\w-]+(?: [\w-]+){0,2}?)"
    r"(?:'s)?(?:\s+outputs?)?$"
)
OP_STEP = {"add": "add", "sum": "add", "con": "concat", "mul": "multiply"}
BY_THAT = re.compile(
    r"^(?P<op>multiply|scale|add|sum|concat\w*)\s+(?P<x>\S+)\s+(?:by|with|to)\s+(?:that|it|this)$"
)
LOOP_ONLY = re.compile(
    r"^(?:repeat\w*|loop\w*|(?:repeat|loop)\w* (?:until|while) .*|iterate|keep going|"
    r"start over|again|do(?:es)? (?:that|this|it) .*|"
    r"\d+\s*(?:x|times)|until .*|for \d+ \w+|alternate.*|next round|go again.*|"
    r"\d+k?\s*(?:trials|rounds|iterations|iters))$"
)


@dataclass
class Graph:
    """Steps and labelled edges (0-based), as spec_graph.Graph."""

    steps: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    labels: tuple[str, ...]


@dataclass
class _State:
    steps: list[str] = field(default_factory=list)
    edges: list[tuple[int, int]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)  # where the next step attaches
    decision: int | None = None
    label: str = ""  # for the next edge out of `decision`
    numbered: dict[int, int] = field(default_factory=dict)  # "step 2" -> its first node
    chain_start: int | None = None

    def add(self, a: int, b: int, label: str = "") -> None:
        if a == b:
            return
        if (a, b) in self.edges:
            i = self.edges.index((a, b))
            self.labels[i] = self.labels[i] or label
            return
        self.edges.append((a, b))
        self.labels.append(label)

    def ancestors(self, n: int) -> set[int]:
        seen, todo = set(), [n]
        while todo:
            x = todo.pop()
            for a, b in self.edges:
                if b == x and a not in seen:
                    seen.add(a)
                    todo.append(a)
        return seen

    def find(self, name: str) -> int | None:
        key = sorted(words(name))
        if not key:
            return None
        same = [i for i, s in enumerate(self.steps) if sorted(words(s)) == key]
        said = re.findall(r"[a-z]+", name.lower())
        if not same and len(key) == 1 and len(said) >= 1:  # "the embedding" is the "embed"
            same = [i for i, s in enumerate(self.steps) if _one_word_like(s, said[-1])]
            same = same if len(same) == 1 else []
        return same[-1] if same else None

    def find_loose(self, name: str) -> int | None:
        hit = self.find(name)
        if hit is not None:
            return hit
        said = set(words(name))
        for i, s in enumerate(self.steps):  # every word there, exactly ("decoder", not "encoder")
            if said and said <= set(words(s)):
                return i
        for i, s in enumerate(self.steps):
            if matches(name, s) or matches(s, name):
                return i
        return None

    def repeated(self, hit: int, name: str) -> bool:
        """A process step said again by its very name: going there is a loop (a layer said
        again is another layer, "conv -> relu -> conv")."""
        step = self.steps[hit]
        return (
            step == name
            and hit not in self.ends
            and bool(re.search(r"[a-z]", step))
            and kind_of(step) == "step"
        )

    def node(self, name: str, looping: bool = False) -> int:
        """The step named `name`: the one already drawn unless going there closes a cycle
        nothing asked for; else a new one."""
        hit = self.find(name)
        owner = re.match(r"^(?P<x>[\w-]+) s [\w-]+(?: [\w-]+)?$", name)
        if hit is None and owner and (had := self.find(owner["x"])) is not None:
            return had  # "the decoder's cross attention": the decoder drawn
        if hit is not None and (
            looping
            or self.repeated(hit, name)  # "plan -> act -> observe -> plan": a loop
            or not any(e == hit or hit in self.ancestors(e) for e in self.ends)
        ):
            return hit
        self.steps.append(name)
        return len(self.steps) - 1


_COND_TEXT = r"(?:[^,;.?\n]|(?<=\d)\.(?=\d))+?"  # "score > 0.7": a decimal point is no full stop


def _side_by_side(m: re.Match[str]) -> str:
    """'x -> {conv 1x1, conv 3x3, pool} -> concat', '-> {cls, box}': a fork, side by side."""
    names = re.sub(r"\s*,\s*", " and ", m[1].strip())
    last = not m.string[m.end() :].lstrip().startswith("->")
    return f" {names} in parallel" if last else f" {names}"


def _left_arrows(m: re.Match[str]) -> str:
    """'loss <- head <- backbone <- img' is 'img -> backbone -> head -> loss'; 'fake -> disc
    <- real' is 'fake -> disc; real -> disc'."""
    parts = [p.strip() for p in m[0].split(" <- ")]
    if not all(parts):
        return m[0]
    if "->" not in m[0]:
        return " -> ".join(reversed(parts))
    into = parts[0].split(" -> ")[-1].strip()
    return "; ".join([parts[0], *(f"{p} -> {into}" for p in parts[1:] if "->" not in p)])


def _normal(text: str) -> str:
    t = text.lower().replace("`", " ")
    t = dashed_list(t)  # "workflow - a - b - c?" is a list
    t = t.replace(" | ", "; ")  # "a | yes: b | no: c": clauses (a pipe in a name splits a step)
    for c in _EMOJI_YES:
        t = t.replace(c, " yes: ")
    for c in _EMOJI_NO:
        t = t.replace(c, " no: ")
    t = t.replace("≥", ">=").replace("≤", "<=").replace("…", "...")
    t = re.sub(r"\bw/\s*", "with ", t)
    t = re.sub(r"\bthru\b", "through", t)
    t = re.sub(r"\btill\b", "until", t)
    t = re.sub(r"\bback to \((\d{1,2})\)", r"back to step \1", t)  # "go back to (1)"
    t = re.sub(r"\s*(?:←|(?<![<\w])<-+(?!>))\s*", " <- ", t)
    t = re.sub(r"[^\x00-\x7f→⟶➔⇒⟹]", " ", t)  # other emoji
    t = re.sub(ARROW, " -> ", t)
    t = re.sub(r"[^;\n,.]*<-[^;\n,.]*", _left_arrows, t)
    t = re.sub(r"(?<=->)\s*\{([^{}]+)\}", _side_by_side, t)
    t = re.sub(  # "; enc1, enc2 -> dist", "(real_x, rec_x) -> loss": sources that meet
        r"(?:^|(?<=[;\n]))(\s*)[(\[]?((?:[\w.'-]+\s*,\s*)+[\w.'-]+)[)\]]?(?=\s*->)",
        lambda m: m[1] + re.sub(r"\s*,\s*", " and ", m[2]),
        t,
    )
    t = re.sub(  # "to three base models (rf, xgb, svm)": the models are the list
        r"\b(?:two|three|four|five|[2-9])\s+(?!x\b)(?:[a-z][\w-]*\s+){1,3}?"
        r"(?P<when>(?:in parallel|at the same time|simultaneously)\s+)?"
        r"\(((?:[a-z][^(),]*,\s*)+?)(?:and\s+)?([a-z][^(),]*)\)",
        lambda m: f"{m[2].rstrip(', ')} and {m[3]} {(m['when'] or '').strip()}".rstrip(),
        t,
    )
    t = re.sub(r"\?+", "?", t)
    t = re.sub(  # "... waits an hour and does it all again": a loop, no step "does"
        r"\s+and\s+(?:then\s+)?(?:does|do|repeats?|runs?)\s+(?:it|this|that|everything|"
        r"the whole thing)(?:\s+all)?\s+(?:again|over)\b",
        ", repeat",
        t,
    )
    t = re.sub(  # "... run eval. depending on the result: better -> a; worse -> b": outcomes
        r"(?:^|(?<=[.;\n]))\s*(?:depending on|based on)\s+(?:the\s+)?[\w ]{1,30}?\s*[:,]\s*",
        " ",
        t,
    )
    t = re.sub(
        r"\b(?:check|see|test)\s+(?:if|whether)\s+([^:?,;.\n]+?)\s*(?:[:?]|(?=[,;.\n]|$))",
        r"\1?",
        t,
    )  # "then check if metrics ok: if yes ...": the question
    t = re.sub(r"\b(?:which |and )?(?:asks?|checks?|decides?)\s*:\s*(?=[^?:\n]+\?)", "", t)
    # "a if c else b -> d", "a if c, b otherwise -> d": both ways go on to d
    t = re.sub(
        rf"(?:(?<=-> )|(?<=, )|^)(?P<a>[^,>;.?\n]+?)(?<!\band)\s+if\s+(?P<c>{_COND_TEXT})"
        r"\s+else\s+(?P<b>[^,>;.?\n]+?)(?P<d>\s*->\s*[^,>;.?\n]+?)?"
        r"(?=\s*->|\s*[,;.?\n]|\s*$)",
        lambda m: f"if {m['c']}, {m['a']}{m['d'] or ''}, else {m['b']}{m['d'] or ''}",
        t,
    )
    t = re.sub(
        rf"(?:(?<=-> )|(?<=, )|^)(?P<a>[^,>;.?\n]+?)(?<!\band)\s+if\s+(?P<c>{_COND_TEXT}),\s*"
        r"(?P<b>[^,>;.?\n]+?)\s+otherwise(?P<d>\s*->\s*[^,>;.?\n]+?)?(?=\s*->|\s*[,;.?\n]|\s*$)",
        lambda m: f"if {m['c']}, {m['a']}{m['d'] or ''}, otherwise {m['b']}{m['d'] or ''}",
        t,
    )
    t = re.sub(
        r"\s+(?:goes|go|passes|pass|runs|run) (?:through|via)\s+"
        r"(?!(?:two|three|four|\d+) (?:parallel )?(?:branches|paths|heads|ways))",
        " -> ",
        t,
    )
    t = re.sub(
        r"\s+(?:goes|go|is fed|are fed|gets fed|get fed|feeds|feed|flows|is sent|are sent|"
        r"is passed|are passed)\s+(?P<d>straight |directly )?(?:in)?to\s+(?!(?:two|three|four|\d+)"
        r"\b)",
        lambda m: " -> " + ("directly " if m["d"] else ""),
        t,
    )
    t = re.sub(r",?\s+which (?:then )?(?:outputs?|gives?|produces?|returns?)\s+", " -> ", t)
    t = re.sub(  # "a majority vote gives the answer": what a step gives is a step after it
        r"(?<=\w)\s+(?:gives|produces|yields|outputs)\s+(?:the |a |an )?"
        r"(?=[\w-]+(?: [\w-]+)?\s*(?:[.;\n]|$))",
        " -> ",
        t,
    )
    t = re.sub(r"\b(both|all three|all of them|they)\s+feed\s+(?!(?:in)?to\b|back\b)", r"\1 -> ", t)
    t = re.sub(
        r"\s+(?:feeds|is only for|is used for|is just for)\s+(?!(?:in)?to\b|back\b|two|three|\d)",
        " -> ",
        t,
    )
    t = re.sub(
        r"(?<=[,;]\s)(?P<x>[\w-]+(?: [\w-]+)?) into\s+",
        lambda m: m[0] if m["x"].split()[0] in VERBS else m["x"] + " -> ",
        t,
    )  # "..., tokens into the encoder"
    return t


def _name(item: str) -> str:
    """An item as a step label: the request's words without connectives and fillers."""
    s = re.sub(r"\([^()]*\)", " ", item)
    s = re.sub(
        r"\s+(?:(?:are |is |get |gets )?(?:run|running|executed|done)\s+)?"
        r"(?:at the same time|simultaneously|in parallel)\b",
        " ",
        s,
    )
    s = re.sub(r"[\[\]{}\"']", " ", s).strip(" \t.,;:!")
    while (cut := LEAD.sub("", s)) != s:
        s = cut.strip()
    s = DROP.sub(" ", s)
    s = " ".join(s.split())
    while (cut := TAIL.sub("", s)) != s:
        s = cut.strip()
    return s.strip(" .,;:!-")


def _inline_numbers(line: str) -> str:
    """'1. a 2. b 3. c' on one line: a numbered list, one line a step (numbered 1, 2, 3 ...
    in order, three or more)."""
    marks = list(re.finditer(r"(?:^|(?<=\s))(\d{1,2})\.\s+(?=[a-z])", line))
    if len(marks) < 3 or [int(m[1]) for m in marks] != list(range(1, len(marks) + 1)):
        return line
    out, start = [], 0
    for m in marks:
        out.append(line[start : m.start()])
        start = m.start()
    out.append(line[start:])
    return "\n".join(x for x in out if x.strip())


def _lines(t: str) -> list[tuple[int | None, str, int]]:
    """(step number, text, indent) per line (indent: leading spaces, a tab four, below 2
    none); bullets and numbers dropped; a title line before a bulleted list ("hparam
    sweep") is no step."""
    t = re.sub(r"(?:^|(?<=[,;]\s))(?:step|stage) (\d{1,2}) (?=[a-z])", r"\nstep \1: ", t)
    t = "\n".join(_inline_numbers(x) for x in t.split("\n"))
    lines = [x for x in t.split("\n") if x.strip()]
    marked = [bool(re.match(r"^\s*(?:[-*•]|\d{1,2}[.)]|step\s*\d)", x)) for x in lines]
    if len(lines) >= 3 and not marked[0] and all(marked[1:]) and not re.search(r"->|\?", lines[0]):
        lines = lines[1:]
    out = []
    for raw in lines:
        if not raw.strip():
            continue
        spaces = len(raw.expandtabs(4)) - len(raw.expandtabs(4).lstrip())
        indented = spaces if spaces >= 2 else 0
        line = raw.strip()
        m = re.match(r"^(?:[-*•]\s+|(?:step\s*)?\(?(\d{1,2})\s*[.):-]\s*)", line)
        number = int(m[1]) if m and m[1] else None
        if m:
            line = line[m.end() :]
        # "Step 1: a. Step 2: b" and "1) a 2) b" on one line
        parts = re.split(
            r"(?:(?<=\s)|^)(?:step|stage)\s*(\d{1,2})\s*(?:[:.)]|-(?!>))\s*|(?<=\s)"
            + (r"\(?" if "(1)" in line and "(2)" in line else "")  # "(1) a (2) b"
            + r"(\d{1,2})\)\s+(?!\()",
            line,
        )
        if len(parts) > 1:
            head = parts[0].strip(" .")
            if head and not head.endswith(":"):  # "early stopping loop: (1) a (2) b": a title
                out.append((number, head, indented))
            for i in range(1, len(parts) - 1, 3):
                n = parts[i] or parts[i + 1]
                out.append((int(n), parts[i + 2].strip(), indented))
        else:
            out.append((number, line, indented))
    return out


FORK_WORDS = re.compile(r"\b(?:feeds?|splits?|split|branch\w*|heads|forks?|ways|parallel)\b")
LISTED = re.compile(
    r"(?P<lead>(?:\b(?:to|into|through|between)\s+|->\s*|:\s*|^))"
    r"(?P<list>(?:(?:(?!\b(?:in)?to\s)[^,;.:>]){1,25},\s*){1,6}"  # no item says "to"
    r"[^,;.:>]{1,25}?\s+(?:and|or|&)\s+[^,;.>]{1,25}?)"
    r"(?=\s+(?:each|both|all|in parallel)\b|[,;.]|$)"
)


def _protect(sentence: str) -> str:
    """'clients a, b and c', 'xgb, lgbm and catboost each predict': one list, one piece."""

    def keep(m: re.Match[str]) -> str:
        after = sentence[m.end() :]
        lead = m["lead"].strip()
        before = sentence[: m.start()]
        forks = lead == ":" and FORK_WORDS.search(before)
        if (
            lead in ("", ":")
            and not forks
            and not re.match(r"\s+(?:each|both|all|in parallel)\b", after)
        ):
            return m[0]
        return m["lead"] + m["list"].replace(",", " §")

    sentence = re.sub(  # "image -> cnn a, cnn b, cnn c -> average": a fork and a join
        rf"(?<=->)(?!\s*(?:{YES}|{NO}|{ELSE}|if)\b)(\s*(?:[\w-]+ ?){{1,3}}"
        rf"(?:,\s*(?!(?:{YES}|{NO}|{ELSE}|if)\b)(?:[\w-]+ ?){{1,3}}){{2,4}})(?=\s*->)",
        lambda m: re.sub(r"\s*,\s*(?:and\s+|or\s+)?", " and ", m[1]),
        sentence,
    )
    gives = re.match(  # "the backbone gives c3, c4, c5": what one step gives, a list
        r"^(?P<lead>[\w -]+?\s(?:gives|produces|outputs|yields|emits)\s+)"
        r"(?P<list>[\w-]+(?: [\w-]+){0,2}(?:,\s*[\w-]+(?: [\w-]+){0,2}){2,6})$",
        sentence,
    )
    if gives and not re.search(r"\band\b", gives["list"]):
        return gives["lead"] + gives["list"].replace(",", " §")
    colon = re.match(r"^(?P<lead>[^:]*:\s*)(?P<list>[^,;:]+(?:,\s*[^,;:]+)+)$", sentence)
    if colon and FORK_WORDS.search(colon["lead"]) and not re.search(r"\band\b", colon["list"]):
        return colon["lead"] + colon["list"].replace(",", " §")  # "feeds 3 heads: a, b, c"
    return LISTED.sub(keep, sentence)


def _pieces(sentence: str) -> list[str]:
    """A sentence cut at commas, connectives and after questions; conditions start pieces."""
    sentence = _protect(sentence)
    sentence = re.sub(rf"^((?:{YES}|{NO}|{ELSE}))\s*,\s*", r"\1 ", sentence)  # "if not, x"
    s = re.sub(
        r"\s+(?:and then|after (?:that|it|this)|and finally|finally|afterwards)\s+", ", ", sentence
    )
    s = re.sub(r"\s+then\s+(?!(?:both|all)\b)", ", ", s)
    s = re.sub(r"\?(?!\s*(?:->|:))\s*", "?, ", s)
    s = re.sub(r"\s+(?=(?:else|otherwise)\b)", ", ", s)
    s = re.sub(r"\s+/\s+(?=(?:yes|no|else|otherwise|if)\b)", ", ", s)
    s = re.sub(r"\s+(?=(?:yes|no)\s*:)", ", ", s)
    s = re.sub(r"\s+(?=(?:if|when)\s)", ", ", s)
    out = []
    for p in re.split(r"\s*,\s*(?:and\s+)?", s):
        m = re.search(r"->[^,;]*?\s+and\s+(?=[^,;]*->)", p)  # "a -> b and c -> d": two chains
        pair = (
            m
            and re.match(  # "a and b in parallel ->", "a and b (both run on x) ->"
                r"[^,;>]*?(?:\b(?:in parallel|at the same time)|\(\s*both\b[^()]*\))\s*->"
                rf"|[^,;>]*?->\s*(?:{JOIN_STEP})\b",  # "a -> b and c -> merge": a fork, joined
                p[m.end() :],
            )
        )
        if m and not pair and (JOIN_SIGNAL.search(sentence) or SKIP_WORDS.search(sentence)):
            cut = p.rindex(" and ", m.start(), m.end())
            out += [p[:cut].strip(), p[cut + 5 :].strip()]
        else:
            out.append(p.strip())
    return [p for p in out if p and p not in ("and", "then")]


REFS_BOTH = re.compile(  # a step said of what came before: "dot product of the two"
    r"^(?P<x>.+?)\s+(?:(?:of|from|on|over|between)\s+(?:the\s+)?(?:two|both|all three|them)"
    r"|(?:averages?|combines?|merges?|sums?|fuses?|concatenates?|multiplies|compares?|joins?)"
    r"\s+(?:both|the two|all three|them))(?:\s+[\w-]+)?$"
)
EITHER = (
    r"(?:and\s+)?(?:then\s+)?"
    r"(?:either way|both ways|in (?:both|either|any) cases?|regardless|after both)"
)
MUST_ALL = (
    r"^(?:both|all(?: two| three| four| of them)?|the two|they|each)\s+(?:must|have to|need to|"
    r"should)\s+(?:pass|succeed|finish|complete|be done|be green|agree)(?:\s+first)?\s*$"
)
COUNTED = r"(?:two|three|four|[2-4])\s+(?:[\w-]+\s+){0,2}[\w-]+s"  # "two random views"
NAMED_OP = re.compile(
    r"^(?P<op>join|merge|combine|concat\w*|fuse|stack|add|sum)\s+(?P<a>[\w' -]+?)\s*"
    r"(?:\+|\band\b|&|\bwith\b)\s*(?P<b>[\w' -]+?)$"
)
_JOIN_WORD = r"(?!(?:and|then|are|is|get|gets|also|all|both|or)\b)[\w'-]+"
_JOIN_ITEM = rf"(?:the\s+)?{_JOIN_WORD}(?:\s+{_JOIN_WORD}){{0,3}}"
_JOIN_REST = (
    r"(?P<rest>(?:\s+(?:and\s+)?(?:then\s+)?(?:\w+\s+){0,2}?(?:(?:in)?to|before)\s+[^,;]+"
    r"|\s*->[^,;]+)?)(?=\s*,|\s*;|$)"
)
NAMED_JOIN = re.compile(  # "x, a's output and b's output are all concatenated and fed to c"
    rf"(?:^|,\s*|\bthen\s+)(?P<names>{_JOIN_ITEM}(?:\s*,\s*{_JOIN_ITEM})*\s*(?:,\s*)?"
    rf"(?:\band|&|\+)\s+{_JOIN_ITEM})\s+(?:are|get|is)\s+(?:all\s+|both\s+)?"
    rf"(?P<verb>{JOIN_VERB})(?:\s+together)?{_JOIN_REST}"
)
WITH_JOIN = re.compile(  # "the a output is also concatenated with the b output before c"
    rf"(?:^|,\s*|\bthen\s+)(?:and\s+)?(?P<a>{_JOIN_ITEM})\s+(?:is|are|gets)\s+(?:also\s+)?"
    rf"(?P<verb>{JOIN_VERB})\s+(?:with|to)\s+(?P<b>{_JOIN_ITEM}){_JOIN_REST}"
)


class _Reader:
    def __init__(self, text: str) -> None:
        self.s = _State()
        self.t = text
        ifs = len(re.findall(r"(?:^|[\s,;.(])(?:if|when|in case of)\s", text))
        self.has_else = bool(re.search(rf"\b{ELSE}\b|\bif not\b|\bif no\b|\?", text))
        self.label_mode = ifs >= 2 and not self.has_else
        self.loop_scope: tuple[int, str] | None = None  # (steps before the loop, its label)
        self.fork_ends: list[int] = []
        self.label_source: int | None = None
        self.prev_arrow = False
        self.semicolon = False  # the sentence read now came after a semicolon
        self.branch_ends: list[int] = []  # open ends of the branches said so far
        self.skipped = False  # the last branch said was empty ("otherwise leave it")
        self.sentence = 0  # sentences read so far
        self.outcomes: set[str] = set()  # heads of "<label> -> <action>" pieces
        self.unknown = False  # a loop named a step that is not there: read nothing
        self.branch_sentence = -1  # the sentence of the last branch
        self.answered: dict[int, set[str]] = {}  # decision -> the branch labels said
        self.negated: set[int] = set()  # decisions asked in the negative ("if x not done")
        self.ahead: list[tuple[int, int, str]] = []  # "yes: go to 4": (from, step 4, label)

    def subject(self, cond: str) -> int | None:
        """The drawn step a condition is about ("if dedupe removes more than half")."""
        first = " ".join(cond.split()[:2])
        for name in (first, cond.split()[0]):
            hit = self.s.find(name)
            if hit is not None and len(words(name)) >= 1:
                return hit
        return None

    # -- building ------------------------------------------------------------------------

    def attach(self, name: str, label: str = "", looping: bool = False) -> int | None:
        name = _name(name)
        if not name or len(name.split()) > MAX_STEP_WORDS:
            return None
        s = self.s
        src = [s.decision] if label and s.decision is not None else s.ends
        n = s.node(name, looping)
        for e in src:
            s.add(e, n, label)
        if s.chain_start is None or not s.ends:
            s.chain_start = n
        s.ends = [n]
        return n

    def chain(self, items: list[str], label: str = "") -> None:
        last = items[-1] if items else ""
        heads = _split_names(re.sub(r"\([^()]*\)", " ", last))
        if (
            (len(items) >= 2 or self.s.ends)
            and len(heads) >= 2
            and FORK_SIGNAL.search(self.t)
            and " and " in last
        ):
            self.chain(items[:-1], label)  # "features -> box head and class head (two branches)"
            ends = [s for s in self.s.ends]
            forks = [self.s.node(n) for n in heads]
            for e in ends:
                for f in forks:
                    self.s.add(e, f)
            self.fork_ends, self.s.ends = forks, forks
            return
        for i, item in enumerate(items):
            if re.match(r"^(?:for (?:each|every)|per)\b", item.strip()) and i:
                continue  # "-> for each link not seen yet, crawl page again"
            if (
                0 < i < len(items) - 2
                and re.fullmatch(COUNTED, _name(item))
                and _pair(items[i + 1])
            ):
                continue  # "-> two crops -> crop a and crop b ->": the count says the fork
            pair = _pair(item) if 0 < i < len(items) - 1 else None
            if pair:  # "encoder -> mu and logvar -> reparam", "router -> expert 1 or expert 2"
                before = list(self.s.ends)
                ends = [self.s.node(n) for n in pair]
                for a in before:
                    for b in ends:
                        self.s.add(a, b, label)
                self.s.ends, label = ends, ""
                continue
            if LOOP_ONLY.match(item.strip()) and self.loop(item, label):
                label = ""
                continue
            if self.relation(item, label) or (not label and self.named_op(item)):
                label = ""
                continue
            if self.attach_noted(item, label) is not None:
                label = ""

    def attach_noted(self, item: str, label: str = "", looping: bool = False) -> int | None:
        """attach, then the item's notes in parentheses: a skip into it, or a loop ("-> llm
        (loop back)" is the drawn llm again; "regenerate (go back to 1)" closes a loop and
        ends the way)."""
        notes = re.findall(r"\(([^()]*)\)", item)
        back = [note for note in notes if LOOP_WORDS.search(note)]
        n = self.attach(item, label, looping=looping or bool(back))
        if n is None:
            return None
        for note in notes:
            if note not in back:
                self.note(note, n)
            elif BACK.search(note) and self.loop(note):
                self.s.ends = []
        return n

    def note(self, note: str, n: int) -> None:
        """A note on a step: a skip into it ("x added back", "multiply with the features",
        "identity skip", "shortcut from the input to the add")."""
        s = self.s
        if self.skip_note(note):
            return
        if not re.search(
            r"\b(?:add\w*|skip\w*|shortcut|residual|identity|multipl\w*|concat\w*|"
            r"sum\w*|plus|with)\b",
            note,
        ):
            return
        named = [i for i in self.mentions(note) if i != n]
        if named:
            s.add(named[0], n, "")
        elif re.search(r"\b(?:skip|shortcut|residual|identity)\b", note) and re.match(
            r"^(?:add\w*|sum|concat\w*|multiply|scale|merge|\+)", s.steps[n]
        ):
            s.add(0, n, "")

    # -- relations -----------------------------------------------------------------------

    def loop_target(self, piece: str) -> int | None:
        s = self.s
        back = BACK.search(piece)
        if back:
            x = re.sub(r"\(.*$", "", back["x"]).strip()
            if x.isdigit():
                return s.numbered.get(int(x))
            hit = s.find_loose(_name(x))
            own = re.search(r"\b(?P<y>[\w-]+) output\b.*\bback\b", piece)
            if hit is None and own:  # "the decoder output feeds back in as the next input"
                hit = s.find_loose(own["y"])
            if hit is None and NEXT.match(x):  # "go back to pick the next combo"
                hit = self.loop_target(x)
            return hit
        back_and = re.match(r"^go back and\s+(?P<x>.+?)(?:\s+again)?$", piece)
        if back_and and s.find_loose(_name(back_and["x"])) is None:
            return None
        again = re.match(r"^(?:go back and\s+|and\s+)?(?P<x>.+?)(?:\s+again\b|$)", piece)
        if again and (back_and or re.search(r"\bagain\b", piece)):
            return s.find_loose(_name(again["x"]))
        keep = re.match(r"^(?:continue|keep)\s+(?P<x>\w+ing)\b", piece)
        if keep:
            return s.find_loose(keep["x"])
        nxt = NEXT.match(piece)
        if nxt:
            hit = s.find(f"{nxt['v']} {_name(nxt['x'])}")
            same_verb = [i for i, x in enumerate(s.steps) if x.split()[:1] == [nxt["v"]]]
            return hit if hit is not None else (same_verb[0] if same_verb else None)
        redo = re.match(r"^re-?(?P<x>[a-z]{3,})\b\s*(?P<obj>.*)$", piece)
        if redo:
            obj = _name(redo["obj"])
            names = [f"{redo['x']} {obj}".strip(), redo["x"]]
            names += [obj] if redo["x"] in ("try", "do", "run") else []
            for name in names:
                if name and (hit := s.find_loose(name)) is not None:
                    said = set(words(obj)) - set(words(s.steps[hit]))
                    return None if said and redo["x"] not in ("try", "do", "run") else hit
            return None
        return None

    def loop_start(self) -> int | None:
        s = self.s
        if self.loop_scope is not None:
            return self.loop_scope[0] if self.loop_scope[0] < len(s.steps) else None
        if s.chain_start is None:
            return None
        first = s.chain_start
        chain = [first]
        while True:
            nxt = [b for a, b in s.edges if a == chain[-1] and b not in chain]
            if not nxt:
                break
            chain.append(nxt[0])
        if len(chain) >= 3 and SETUP.match(s.steps[first]):
            return chain[1]
        return first

    def loop(self, piece: str, label: str = "") -> bool:
        """A loop word: an edge back from the open ends."""
        s = self.s
        if not LOOP_WORDS.search(piece) or not s.ends:
            return False
        target = self.loop_target(piece)
        if target is None and BACK.search(piece):
            self.unknown = True  # "go back to the banana stand": a step that is not there
            return False
        if target is None:
            target = self.loop_start()
        if target is None:
            return False
        src = [s.decision] if label and s.decision is not None else s.ends
        if not label and any(b <= a for a, b in s.edges if a in src):
            return True  # "feed it back into x, loop until ...": one loop
        for e in src:
            s.add(e, target, label or _loop_label(piece))
        return True

    def relation(self, piece: str, label: str = "") -> bool:
        """A clause that relates steps: a loop, a skip between drawn steps, an op with."""
        s = self.s
        by = BY_THAT.match(re.sub(r"\s*\([^()]*\)", "", piece).strip())
        if by and (source := s.find_loose(by["x"])) is not None:
            n = self.attach(by["op"])  # "multiply x by that": the op, with x skipping to it
            if n is not None:
                s.add(source, n, "")
            return True
        bare = re.match(
            r"^(?P<op>add|sum|concat\w*|multiply)\s+(?P<x>[\w-]+)$", _name(piece) or "x"
        )
        if bare and (source := s.find(bare["x"])) is not None and s.ends:
            n = self.attach(bare["op"])  # "... -> add x -> ...": the add, x skipping to it
            if n is not None:
                s.add(source, n, "")
            return True
        op = OP.match(_name(piece) or "x")
        if op and op["x"]:
            source = s.find_loose(_name(re.sub(r"\s+again$", "", op["x"])))
            if source is not None:
                n = self.attach(op["op"] or op["op2"] or op["op3"])
                if n is not None:
                    s.add(source, n, "")
                return True
        added = ADDED_TO.match(re.sub(r"\s*\([^()]*\)", "", piece).strip())
        if added and s.ends:
            x, y = self.resolve(_name(added["x"])), self.resolve(_name(added["y"]))
            if x is not None and y is not None and x != y:
                s.ends, s.decision = [y], None  # "x is also added to the output of y": an add
                n = self.attach(OP_STEP[added["op"][:3]])
                if n is not None:
                    s.add(x, n, "")
                return True
        if self.loop_target(piece) is not None:
            src = [s.decision] if label and s.decision is not None else s.ends
            cut = re.search(
                r"(?:\s+and)?\s*\b(?:go(?:es)? back|loop back|back\s+(?:in(?:to)?|to|as)|"
                r"return to|jump to|(?:feeds?|fed|goes|go) back)\b",
                piece,
            )
            head = piece[: cut.start()] if cut else ""
            drawn = s.find(_name(head)) if head.strip() else None
            if re.fullmatch(EITHER, head.strip(" ,")) and not label:
                src = list(dict.fromkeys([*self.branch_ends, *s.ends]))  # every branch, back
            elif drawn is not None and not label:
                src = [drawn]
            elif (
                (n := _name(head))
                and not re.search(r"\bagain\b|^\s*(?:repeat|loop|iterate|cycle)\b", head)
                and not re.match(SEND_BACK, piece.strip())
            ):  # "send back to x", "repeat every step back to x": the way back, no step
                node = self.attach(n, label)
                src = [node] if node is not None else src
                label = ""
            target = self.loop_target(piece)
            if target is None:
                return False
            for e in src:
                s.add(e, target, label)
            s.ends = [] if label else s.ends
            return True
        return False

    def mentions(self, piece: str) -> list[int]:
        """Drawn steps named in the piece, in order of mention."""
        found = []
        text = f" {piece} "
        for i in sorted(range(len(self.s.steps)), key=lambda i: -len(self.s.steps[i])):
            name = self.s.steps[i]
            m = re.search(rf"(?<![\w+]){re.escape(name)}(?![\w])", text)
            if m and len(name) >= 1:
                found.append((m.start(), i))
                text = text[: m.start()] + " " * len(name) + text[m.end() :]
        return [i for _, i in sorted(found)]

    def skip_note(self, piece: str) -> bool:
        """'shortcut from the input to the add', 'l1 into l3', 'x skipping to add1'."""
        if not SKIP_WORDS.search(piece) and not re.search(r"\b(?:into|to)\b|->", piece):
            return False
        if ADDED_TO.match(re.sub(r"\s*\([^()]*\)", "", piece).strip()):
            return False  # "x is also added to y": an add step (relation)
        parts = re.split(r"\s+and\s+(?=\S+\s*(?:->|into|to)\b|from\b)|\s*,\s*", piece)
        done = False
        for part in parts:
            named = self.mentions(part)
            if len(named) >= 2:
                if len(named) == 2 and RECEIVES.search(part):
                    named = named[::-1]  # "c also gets the output of a": a -> c
                for a, b in zip(named, named[1:], strict=False):
                    self.s.add(a, b, "")
                done = True
        return done

    # -- clauses -------------------------------------------------------------------------

    def piece(self, p: str) -> None:
        s = self.s
        p = p.strip(" .;")
        if not p:
            return
        if "§" in p:
            listed = re.sub(r"\s*§", ",", p)  # no § is left: the parts are read once each
            forks = FORK.match(listed) or SAME.match(listed)
            if not (forks or PARALLEL.search(listed) or EACH.match(listed)):
                for part in re.split(r"\s*,\s*(?:and\s+)?", listed):  # no fork: a plain list
                    self.piece(part)
                return
            p = listed
        pair = re.fullmatch(r"(?P<a>\w+)-(?P<b>\w+)", p)
        if pair and (a := s.find(pair["a"])) is not None and (b := s.find(pair["b"])) is not None:
            s.add(a, b, "")  # "skip d1-u1, d2-u2": a skip between two drawn steps
            return
        also = bool(re.match(r"^also\b", p))
        p = re.sub(r"^(?:and|then|so|also|or)\s+", "", p)
        if not s.steps and (takes := TAKES.match(p)):
            p = takes["x"]  # "the cnn take the image, conv1, ...": the image is the first step
        intro = LOOP_INTRO.match(p)
        if intro and self.loop_scope is None and intro["rest"].strip():
            self.loop_scope = (len(s.steps), _loop_label(intro["how"]))
            p = intro["rest"]
        if also and "?" in p and s.decision is not None:
            before = [a for a, b in s.edges if b == s.decision]
            s.ends = before[:1] or s.ends  # "also accuracy drop? -> ...": from the same step
        items = _items(p)
        head = items[0].strip()
        branch_head = re.match(rf"^(?:{YES}|{NO}|{ELSE})\b", head)
        if (
            s.label
            and s.decision is not None
            and not COND.match(head)
            and not branch_head
            and " : " not in p
            and not (len(items) >= 2 and _outcome(head, s.steps[s.decision]))
        ):
            label, s.label = s.label, ""
            before = list(self.branch_ends) if self.skipped else []
            self.skipped, count = False, len(s.steps)
            self.branch(label, items)
            first = [b for (a, b) in s.edges if a == s.decision and b >= count]
            for e in before:
                for b in first[:1]:
                    s.add(e, b)  # "if x a, otherwise leave it. then b": a meets b
            return
        unasked = re.match(r"^if not\s+(?P<c>(?:\S+\s+){2,}\S+)$", head)
        if unasked and s.decision is None:  # "if not all combos done go back to pick ..."
            self.condition(f"not {unasked['c']}", items[1:])
            return
        # a branch head: yes / no / else, then its actions
        m = re.match(
            rf"^(?P<h>{YES}|{NO}|{ELSE})\b\s*[:,]?\s*(?:for \d+ \w+\s*)?(?P<rest>.*)$", head
        )
        if m and (s.decision is not None or s.ends) and not head.endswith("?"):
            h = m["h"]
            label = "yes" if re.fullmatch(YES, h) else "no" if re.fullmatch(NO, h) else h
            if label == "no" and h in ("not", "if not"):
                label = "not"  # the request's own word
            if h in ("true", "false", "if true", "if false"):
                label = h.split()[-1]  # the request's own word
            if s.decision is None:
                s.decision = s.ends[-1]
            colon = re.match(rf"^(?:{YES}|{NO}|{ELSE})\s*:", head)
            if (
                m["rest"]
                and len(items) >= 2
                and len(m["rest"].split()) <= 2
                and not colon
                and m["rest"].split()[0] not in VERBS
                and not re.fullmatch(ELSE, h)  # "otherwise new cluster -> x": an action
            ):
                rest = items[1:]  # "no drift -> keep the old one"
            else:
                rest = [m["rest"], *items[1:]] if m["rest"] else items[1:]
            self.branch(label, rest)
            return
        # "<outcome> -> action" after a decision: a short label that is no step
        if (
            len(items) >= 2
            and s.decision is None
            and s.ends
            and _outcome(head, "")
            and "?" not in head
        ):
            s.decision = s.ends[-1]  # "score txn; high risk -> block, low -> approve"
        if len(items) >= 2 and s.decision is not None and s.ends and _outcome(head, ""):
            now, asked = set(words(s.steps[s.ends[-1]])), set(words(s.steps[s.decision]))
            said = set(words(head))
            if said & now and not said & asked:
                s.decision = s.ends[-1]  # "patience += 1, patience hits 3 -> stop"
        if len(items) >= 2 and head in self.outcomes:
            s.decision = s.decision if s.decision is not None else s.ends[-1] if s.ends else None
            if s.decision is not None:
                self.branch(head, items[1:])
                return
        if len(items) >= 2 and s.decision is not None and _outcome(head, s.steps[s.decision]):
            self.branch(_label(head), items[1:])
            return
        cond = COND.match(head)
        if cond and self.loop_scope is not None and self.loop_scope[0] < len(s.steps):
            self.close_loop()  # "for each lr train and score, ..., when the grid is done ..."
        if cond:
            self.condition(cond["c"], items[1:])
            return
        # a question ends a piece; "q ? a : b" is a ternary
        if "?" in p:
            q, _, after = p.partition("?")
            title = not s.steps and not re.match(QUESTION_START, q.strip()) and len(q.split()) <= 3
            if title and not re.match(rf"^\s*(?:{YES}|{NO})\b", after):
                after = after.strip(" ,:")
                if after:
                    self.piece(after)  # "SE block?? x -> ...": a title
                return
            if ASKING.search(q):  # "could you draw the inference flow? ...": a request
                if after.strip(" ,:->"):
                    self.piece(after.strip(" ,:"))
                return
            self.question(q)
            after = after.strip(" ,:->")
            if after:
                s.label = ""
                yes, colon, no = after.partition(" : ")
                if colon:
                    self.branch("yes", re.split(r"\s*->\s*", yes))
                    self.branch("no", re.split(r"\s*->\s*", no))
                elif re.match(rf"^(?:{YES}|{NO}|{ELSE})\b", after) or _outcome(
                    after.split(" -> ")[0], q
                ):
                    self.piece(after)
                else:
                    self.branch("yes", re.split(r"\s*->\s*", after))
            return
        if " : " in p and s.decision is not None:  # "... ? a : b" split by a comma
            yes, _, no = p.partition(" : ")
            self.branch("yes", re.split(r"\s*->\s*", yes))
            self.branch("no", re.split(r"\s*->\s*", no))
            return
        if re.match(MUST_ALL, p) and len(s.ends) >= 2:
            return  # "a, b and c run in parallel, all three must pass, then d": d joins them
        both = REFS_BOTH.match(head)
        if both and len(ends := self.open_ends()) >= 2 and (name := _name(both["x"])):
            n = s.node(name)  # "dot product of the two -> sigmoid", "fusion averages both"
            for e in ends:
                s.add(e, n)
            s.ends, s.decision, self.fork_ends = [n], None, []
            if len(items) >= 2:
                self.chain(items[1:])
            self.prev_arrow = False
            return
        if self.join_arrow(items) or self.join(p) or self.fork(p):
            self.prev_arrow = len(items) >= 2
            return
        if re.match(r"^each\b", p) and len(self.fork_ends) >= 2:
            return  # "each trains locally": what every branch does, no step of its own
        if re.match(rf"^(?:{JOIN_VERB}|concat|add|sum|merge|combine)\s+(?:that|it|this)\b", head):
            self.chain(items)  # "then concat that with the bilstm output -> dense": goes on
            return
        reaches = any(s.find(_name(i)) is not None for i in items[1:])
        src = s.find(_name(head))
        if src is None:  # "the encoder output goes to the decoder": from the encoder
            src = s.find(re.sub(OUTPUT_OF, "", _name(head)))
        if src is None and SKIP_WORDS.search(p):  # "the question also goes to the llm"
            src = self.resolve(re.sub(r"^outputs? of\s+", "", _name(head)), head=True)
        if (
            len(items) >= 2
            and (self.prev_arrow and (JOIN_SIGNAL.search(self.t) or self.semicolon) or reaches)
            and not (len(self.fork_ends) >= 2 and s.ends == self.fork_ends and not reaches)
            and src is None
            and s.steps
        ):
            s.ends, s.decision = [], None  # "a -> b, c -> d, then both ...": parallel chains
            self.chain(items)
            self.prev_arrow = True
            return
        self.prev_arrow = len(items) >= 2
        said, last = words(_name(head)), words(s.steps[s.ends[-1]]) if s.ends else []
        if src is None and len(said) == 1 and last and said[0][:5] == last[-1][:5]:
            src = s.ends[-1]  # "text -> tokenizer, tokens into the encoder": its output
        if len(items) >= 2 and s.ends and src is not None:
            # a chain from a step already drawn: a fork, a skip or a second path
            s.ends = [src]
            s.decision = None
            self.chain(items[1:])
            return
        off = re.match(
            r"^(?P<x>.+?)\s+(?:hanging|branching|coming|splitting|branches|hangs|comes)\s+off"
            r"(?:\s+of|\s+from)?\s+(?P<y>.+)$",
            p,
        )
        if off and len(items) == 1 and (y := s.find(_name(off["y"]))) is not None:
            n = s.node(_name(off["x"]))  # "an aux loss hanging off block 2": a side way
            s.add(y, n)
            return
        side = re.match(r"^(?P<x>[\w-]+(?: [\w-]+)?) also (?P<v>[a-z]+s) (?P<rest>.+)$", p)
        if (
            side
            and len(items) == 1
            and _verb(side["v"])
            and not RECEIVES.search(p)  # "c also gets a's output" is a skip into c
            and (x := s.find(side["x"])) is not None
        ):
            s.ends, s.decision = [x], None  # "agent also logs reward to wandb": a side path
            self.chain([f"{side['v']} {side['rest']}"])
            return
        with_note = re.match(r"^(?P<a>[\w-]+(?: [\w-]+)?) with (?P<rest>.+\b(?:into|to)\b.+)$", p)
        if with_note and len(items) == 1:
            self.chain([with_note["a"]])
            if not self.skip_note(with_note["rest"].replace(" into ", " -> ")):
                self.note(with_note["rest"], s.ends[-1])
            return
        also = re.match(r"^which (?:also )?(?:receives|takes|gets|uses)\s+(?P<x>.+)$", p)
        if also and s.ends:  # "..., which also receives the shifted targets"
            into = s.ends[-1]
            x = s.node(_name(also["x"]))
            s.add(x, into)
            return
        if len(items) == 1 and self.skip_note(p):
            return
        tail = re.match(r"^(?P<a>.+?)\s+and\s+(?P<b>.+\b(?:also|skip\w*|directly)\b.+)$", p)
        if tail and len(items) == 1:  # "l4 and l1 is also concatenated into l4"
            self.piece(tail["a"])
            if not self.skip_note(tail["b"]):
                self.piece(tail["b"])
            return
        if self.relation(p) or self.loop(p):
            return
        if s.decision is not None and self.branch_ends and self.branch_sentence != self.sentence:
            s.ends = list(dict.fromkeys([*self.branch_ends, *s.ends]))  # the branches meet
        elif s.decision is not None and not s.ends:
            s.ends = [s.decision]  # "is it done? if not go back to 2. reply": the other way
        self.branch_ends = []
        s.decision = None
        self.label_source = None
        self.chain([a for i in items for a in _verbs_and(i)])

    def branch(self, label: str, items: list[str]) -> None:
        """One branch out of the decision: its label on the first edge, its actions a chain;
        an action that redoes a step ends it with an edge back."""
        s = self.s
        s.label = ""  # a branch said resolves the one pending
        decision = s.decision if s.decision is not None else (s.ends[-1] if s.ends else None)
        pending = [d for d, said in self.answered.items() if said == {"yes"}]
        if label == "no" and pending and decision not in self.answered:
            decision = pending[-1]  # "if yes clip, then step; if no go straight to step"
        if decision is None:
            return
        if decision in self.negated and re.fullmatch(ELSE, label):
            label = "yes"  # "if episode not finish ..., else ...": the else is its yes
        self.answered.setdefault(decision, set()).add(label)
        s.decision = decision
        items = [a for i in items for a in re.split(r"\s+and\s+(?=\w)", i) if a.strip()]
        if items and label in ("no", "not") and s.steps[decision].endswith("?"):
            items[0] = _unsaid(items[0], s.steps[decision])  # "if not change stop": stop
        empty = r"(?:leave|keep) (?:it|as is)\b.*|do nothing|nothing|skip(?: it)?"
        while len(items) > 1 and re.fullmatch(empty, items[0].strip()):
            items = items[1:]  # "below -> do nothing and read the next sample"
        if not items or not _name(items[0]) or re.fullmatch(empty, items[0].strip()):
            s.label = label  # an empty branch: its label goes to whatever comes next
            s.ends = [decision]
            self.skipped = True
            return
        s.ends = [decision]
        ahead = re.fullmatch(r"(?:go|jump|skip|continue) to (?:step )?(\d{1,2})", items[0].strip())
        if ahead and int(ahead[1]) not in s.numbered:  # a step further down the list
            self.ahead.append((decision, int(ahead[1]), label))
            s.ends = []
            return
        first, back = True, False
        for i, item in enumerate(items):
            if re.fullmatch(r"(?:go|loop|come|jump) back", item.strip()):
                back = True  # "go back and tune": tune, then the loop
                continue
            retry = re.fullmatch(r"re-?try(?: it)?|try (?:it )?again", _name(item))
            if not first and s.ends and retry:
                # "rate limited? -> wait and retry": the step the question is about, again
                asked = [a for a, b in s.edges if b == decision]
                target = asked[0] if asked else self.loop_start()
                if target is not None:
                    for e in s.ends:
                        s.add(e, target)
                    s.ends = []
                    if i + 1 < len(items):  # "a -> if it fails wait and retry -> b": a -> b
                        s.ends, s.decision = [decision], None
                        self.chain(items[i + 1 :])
                        return
                    break
            redo = first and re.match(r"^re-?[a-z]{3,}\b", item.strip()) and i + 1 < len(items)
            if not redo and self.relation(item, label if first else ""):
                s.ends = []
                break
            if first and not redo and LOOP_ONLY.match(item.strip()) and self.loop(item, label):
                s.ends = []
                break
            if first and len(items) == 1 and (target := self.loop_target(item)) is not None:
                n = self.attach(item, label)  # "< 7 -> regenerate": a step, then back
                if n is not None:
                    s.add(n, target, "")
                    s.ends = []
                break
            n = self.attach_noted(item, label if first else "", looping=first)
            if n is not None and re.match(
                r"^(?:go |skip |jump )?(?:straight|directly)\b", item.strip()
            ):
                for e in self.branch_ends:
                    s.add(e, n)  # "otherwise go straight to tokenizing": the other way ends there
            if n is not None:
                first = False
        if back and s.ends and (start := self.loop_start()) is not None:
            for e in s.ends:
                s.add(e, start, "")
            s.ends = []
        if self.branch_sentence != self.sentence:
            self.branch_ends = []
        self.branch_sentence = self.sentence
        self.branch_ends += [e for e in s.ends if e != decision]
        s.decision = decision

    def condition(self, cond: str, items: list[str]) -> None:
        """'if <cond>[,:] action', the action maybe in the next items or pieces."""
        s = self.s
        cond = re.sub(r"\s*\([^()]*\)", "", cond)  # "if bad (corrupt or too small) discard"
        said = re.match(r"^(?P<h>yes|no|not|so)\b\s*[,:]?\s*(?:for \d+ \w+\s*)?(?P<rest>.*)$", cond)
        negative = False
        if said and said["h"] == "not" and s.decision is None and len(said["rest"].split()) >= 3:
            cond, negative = said["rest"], True  # "if not all combos done go back to pick"
        elif said:
            h = {"so": "yes"}.get(said["h"], said["h"])
            self.branch(h, ([said["rest"]] if said["rest"] else []) + items)
            return
        cut = _cond_end(cond)
        action = ""
        lead = re.match(r"^(?:[<>]=?\s*)?\d[\d.,]*%?\s+", cond)
        if lead:  # "if 429 wait and resend"
            action, cond = cond[lead.end() :], lead[0].strip()
        elif cut and cut.start() > 0:
            action, cond = (
                cond[cut.end() :],
                cond[: cut.start()] + (cut[0] if cut[0][:1].isdigit() else ""),
            )
        cond = cond.strip(" ,:")
        label = _label(cond)
        rest = ([action] if action.strip() else []) + items
        asked = s.steps[s.decision] if s.decision is not None else ""
        if asked.endswith("?") and rest and set(words(asked)) <= set(words(cond)):
            self.branch("yes", rest)  # "accepted? if all accepted append, else ...": its yes
            return
        if (
            asked.endswith("?")
            and rest
            and len(words(cond)) >= 2
            and set(words(cond)) <= set(words(asked))
            and not NEGATED.search(f" {cond} ")
        ):
            self.branch("yes", rest)  # "if not all combos done ..., if all done test": its yes
            return
        if re.fullmatch(rf"{YES}|yes|so", "if " + cond) or cond in ("yes", "so"):
            self.branch("yes", rest)
            return
        if cond in ("not", "no"):
            self.branch("not" if cond == "not" else "no", rest)
            return
        pronoun = re.match(r"^(?:it|they|this|that|he|she)\b", cond)
        subject = self.subject(cond)
        loops = not self.has_else and (
            not rest or self.loop_target(rest[0]) is not None or LOOP_WORDS.search(rest[0])
        )
        single = not self.has_else  # "if drift is high trigger retraining": a labelled edge
        if (
            self.label_mode
            or pronoun
            or len(words(cond)) <= 1
            or subject is not None
            or loops
            or single
        ):
            if subject is not None:
                s.decision = subject
            elif self.label_source is None:
                s.decision = s.ends[-1] if s.ends else s.decision
            else:
                s.decision = self.label_source  # "in case of failure ... on success ..."
            self.label_source = s.decision
            said = re.search(r"\b(?:is|are|was|were|gets|get)\s+(?:not\s+)?(?P<p>.+)$", cond)
            label = _label(said["p"]) if said and not subject else label
            if not rest:
                s.label = label
                return
            self.branch(label, rest)
            return
        positive = NEGATED.sub(" ", f" {cond} ").strip()  # "if episode not finish": asked
        q = self.attach(positive.rstrip("?") + "?")  # "episode finish?", its "no" said first
        if q is None:
            return
        s.decision = q
        said = "no" if positive != cond or negative else "yes"
        if said == "no":
            self.negated.add(q)
        if rest:
            self.branch(said, rest)
        else:
            s.label = said

    def question(self, q: str) -> None:
        s = self.s
        q = q.strip()
        items = re.split(r"\s*->\s*", q)
        if len(items) > 1:
            self.chain(items[:-1])
            q = items[-1]
        asked = q.strip()
        q = re.sub(r"^(?:is|are|did|has|have|was|were)\s+", "", asked)
        thing = re.match(r"^(?:it|this|that)\s+(?:an?|the)\s+(?P<x>.+)$", q)
        state = re.match(r"^(?:it|this|that)\s+(?P<x>\S.*)$", q)
        if thing and re.match(r"^(?:is|are|was)\s", asked):
            q = thing["x"]  # "is it an error line?": a question about a thing
        elif state and re.match(r"^(?:is|are|was)\s", asked):
            q = state["x"]  # "is it safe?", "is it eos?": a decision of its own
        elif re.match(r"^(?:it|this|that)\b", q) and s.ends:
            s.decision = s.ends[-1]  # "did it improve?": the step before decides
            return
        q = re.sub(r"^(?:do|does|did)\s+(?:they|we)\s+", "", q)
        negated = re.match(r"^(?:not|no)\s+(?P<x>.+)$", q)
        if negated and s.decision is not None and s.find(negated["x"] + "?") == s.decision:
            s.label = "not" if q.startswith("not") else "no"  # "cached? ... not cached? ..."
            return
        if re.match(r"^(?:does|do)\s", q):
            q = re.sub(r"^(?:does|do)\s+(.+?)\s+have\b", r"\1 has", q)
        q = _name(re.sub(r"^(?:does|do)\s+", "", q))
        if not q:
            return
        n = self.attach(q + "?")
        s.decision = n
        s.label = "yes"  # "cached? return it": what follows is the yes branch

    def join_arrow(self, items: list[str]) -> bool:
        """'both -> y', 'all three concatenated -> y', 'real images and fake images both -> d'."""
        s = self.s
        if len(items) < 2:
            return False
        m = JOIN_HEAD.match(items[0].strip())
        if m is None:
            return False
        names = m["names"] or m["pair"]
        if m["pair"] and m["pair"].split()[0] in VERBS:
            return False  # "load and clean -> train": two steps of a chain
        if names:
            sources = []
            for n in _split_names(names):
                hit = s.find(n)
                sources.append(hit if hit is not None else s.node(n))
        else:
            sources = self.open_ends()
        if len(sources) < 2:
            return False
        if m["verb"]:
            verb = s.node(m["verb"])
            for e in sources:
                s.add(e, verb)
            sources = [verb]
        s.ends, s.decision, self.fork_ends = sources, None, []
        self.chain(items[1:])
        return True

    def join(self, p: str) -> bool:
        s = self.s
        m = JOIN.match(p) or JOIN_SELF.match(p)
        if m is None:
            return False
        ends = self.open_ends()
        if len(ends) < 2:
            return False
        into, after = None, []
        y = _name((m.groupdict().get("y") or "").split(" which ")[0])
        if m["verb"] and y and re.search(rf"{m['verb']}\s+(?:in|into)\s", p):
            into, y = s.node(f"{m['verb']} into {y}"), ""  # "merged into the context": one step
        elif m["verb"] and y and re.search(rf"{m['verb']}\s+(?:by|with|using|via)\s", p):
            into, y = s.node(y), ""  # "merged by majority vote": the vote is the join
        elif m.groupdict().get("w"):
            w, *after = re.split(r"\s*->\s*", m["w"])
            into = s.node(_name(w))  # "combine both with a concat layer (-> head)"
        elif m["verb"]:
            into = s.node(m["verb"].split()[0])
        for e in ends:
            if into is not None:
                s.add(e, into)
        if y and len(y.split()) <= MAX_STEP_WORDS:
            yn = s.node(y)
            if into is not None:
                s.add(into, yn)
            else:
                for e in ends:
                    s.add(e, yn)
            into = yn
        if into is None:
            return False
        s.ends, s.decision, self.fork_ends = [into], None, []
        for item in after:
            self.attach(item)
        rest = re.search(r"\bwhich (?:then )?(?:outputs?|gives?|produces?|returns?)\s+(.+)$", p)
        if rest:
            self.attach(rest[1])
        return True

    def open_ends(self) -> list[int]:
        """What a join joins: the open branches of a fork, else every step with no way out."""
        s = self.s
        if len(self.fork_ends) >= 2:
            return self.fork_ends
        outs = {a for a, _ in s.edges}
        return [i for i in range(len(s.steps)) if i not in outs]

    def fork(self, p: str) -> bool:
        s = self.s
        m = FORK.match(p) or SAME.match(re.sub(r"\s*->\s*", " to ", p, count=1))
        m = None if m and "->" in (m["x"] or "") else m
        if m and m["x"] in ("gets", "get", "is", "are", "then", "and"):
            m = FORK.match(p[len(m["x"]) :].strip())  # "..., gets split 3 ways: a / b / c"
        parallel = PARALLEL.search(p)
        each = EACH.match(p)
        if each and "->" in each["list"]:
            each = None  # "a -> b and c (both run on x) -> d": the chain's pair (chain())
        if each and m is None and not parallel:  # "xgb, lgbm and catboost each predict"
            ends = [s.node(n) for n in _split_names(each["list"])]
            if len(ends) < 2:
                return False
            same = re.search(
                r"\b(?:see|get|take|use|receive|read)s? (?:the )?same (?P<x>.+)$", each["rest"]
            )
            if same:  # "... both see the same batch": the batch feeds them
                s.ends = [self.attach(same["x"])]
            for e in ends:
                for a in s.ends:
                    s.add(a, e)
            self.fork_ends, s.ends, s.decision = ends, list(ends), None
            return True
        if m is None and not parallel:
            return False
        if m is None and "->" in p:
            return False  # "q -> a and b at the same time": the chain forks (chain())
        if m is not None:
            names = _shared_head(_split_names(m["list"]))
            if len(names) < 2:
                return False
            if (
                re.search(r"\bsplit", p)
                and not JOIN_SIGNAL.search(self.t)
                and not re.search(
                    r"\b(?:outputs?|results?) (?:are |get )?(?:added|concat\w*)", self.t
                )
                and not any(
                    re.search(
                        rf"\b{re.escape(n)}\b(?: \w+)? (?:(?:goes|go|is|are|feeds?|part|set)\b|->)",
                        self.t,
                    )
                    for n in names
                )
            ):
                return False  # "split into train and test" as one step of a list
            sends = re.match(r"^(?P<x>.+?\s+sends\s+.+?)\s+to\s+", p)
            src = s.find(_name(m["x"] or "")) if not sends else None
            if sends:
                src = self.attach(sends["x"])
            elif not m["x"]:
                if not s.ends:
                    return False
                src = s.ends[-1]  # "..., gets split 3 ways: a / b / c"
            if src is None:
                src = self.attach(m["x"])
            if src is None:
                return False
            ends = [s.node(n) for n in names]
            for e in ends:
                s.add(src, e)
        else:
            core = re.sub(r"^(?:we |i )?(?:run|train)\s+", "", p)
            core = re.split(r"\s+(?:are|is|get|gets|run|trained|both)\b|\s+in parallel\b", core)[0]
            core = re.sub(r"\b(?:in parallel|at the same time)\b", " ", core)
            names = _split_names(re.sub(r"^\s*(?:we run|run)\s+", "", core))
            if len(names) < 2:
                return False
            on = re.search(r"\bon (?:the )?(?:same )?(?P<x>[\w -]+?)$", p)
            if on and not s.ends:  # "a and b are trained in parallel on the same data"
                self.attach(on["x"])
            ends = [s.node(n) for n in names]
            for e in ends:
                for a in s.ends:
                    s.add(a, e)
        self.fork_ends = ends
        s.ends, s.decision = list(ends), None
        return True

    # -- the whole text ------------------------------------------------------------------

    def read(self) -> None:
        s = self.s
        lines = _lines(self.t)
        body_indent = False
        header = 0  # the indent of the open loop's header line
        outer: list[tuple[int, tuple[int, str]]] = []  # loops around it: (header, scope)
        for number, line, indented in lines:
            while self.loop_scope is not None and body_indent and indented <= header:
                self.close_loop()  # the body ends where the indent goes back
                body_indent = False
                if outer:
                    header, self.loop_scope = outer.pop()
                    body_indent = True
            first_node = len(s.steps)
            intro = LOOP_INTRO.match(line)
            if intro:
                if self.loop_scope is not None and body_indent and not intro["rest"].strip():
                    outer.append((header, self.loop_scope))  # a loop in a loop's body
                how = re.sub(r"^for ([\w-]+)(?:\s*,\s*[\w-]+)? in .*$", r"for each \1", intro[1])
                self.loop_scope = (len(s.steps), _loop_label(how))
                body_indent = not intro["rest"].strip()
                header = indented
                line = intro["rest"]
            braces = re.search(r"\b(?:loop|repeat)\s*\{([^}]*)\}\s*(until [^,.;]+)?", line)
            if braces:
                before = line[: braces.start()]
                after = line[braces.end() :]
                self.sentences(before)
                self.loop_scope = (len(s.steps), _loop_label(braces[2] or "loop"))
                self.sentences(braces[1])
                self.close_loop()
                self.sentences(after)
            else:
                self.sentences(line, in_intro=bool(intro) and not body_indent)
            if number is not None and len(s.steps) > first_node:
                s.numbered.setdefault(number, first_node)
        if self.loop_scope is not None:
            self.close_loop()
        while outer:
            self.loop_scope = outer.pop()[1]
            self.close_loop()
        for source, number, label in self.ahead:
            if (target := s.numbered.get(number)) is not None:
                s.add(source, target, label)

    def sentences(self, line: str, in_intro: bool = False) -> None:
        cut = re.split(r"((?<=[.!;])\s+|;\s*|\.\s*$)", line)
        parts = [x for x in cut[::2] if x and x.strip()]
        # "image -> enc -> emb; text -> enc2 -> emb2": after a semicolon a new head starts anew
        seps = ["", *cut[1::2]]  # the separator before each part
        semis = [";" in sep for x, sep in zip(cut[::2], seps, strict=True) if x and x.strip()]
        said = [  # "high -> accept; medium -> review; low -> reject": outcomes, one a sentence
            h
            for part in parts
            for p in _pieces(part.strip(" ."))
            if len(items := _items(p)) == 2 and 1 <= len((h := items[0].strip()).split()) <= 2
        ]
        fresh = [
            h for h in said if not re.search(rf"\b{re.escape(h)}\b.*\b{re.escape(h)}\s*->", line)
        ]
        if len(said) >= 3 and fresh == said and not JOIN_SIGNAL.search(self.t):
            self.outcomes |= set(said)  # none of them a step named before ("train / val")
        for sentence, self.semicolon in zip(parts, semis, strict=True):
            self.sentence += 1
            sentence = sentence.strip(" .")
            if CHAT.search(sentence) and "->" not in sentence and "?" not in sentence[-1:]:
                continue  # "wait how do i show this..."
            if len(parts) > 1 and TITLE.match(sentence):
                continue  # "early stopping diagram pls."
            named = HEADING.match(sentence) if not self.s.steps else None
            if named and not (FORK_WORDS.search(named["t"]) or re.match(BRANCH_HEAD, named["t"])):
                sentence = sentence[named.end() :]  # "tiny unet: input -> down1 -> ..."
            intro = LOOP_INTRO.match(sentence) or _for_each(sentence)
            if intro and self.loop_scope is None:
                self.loop_scope = (len(self.s.steps), _loop_label(intro["how"]))
                sentence = intro["rest"]
                in_intro = True
            opened = self.loop_scope is None
            joins = sorted(
                [*NAMED_JOIN.finditer(sentence), *WITH_JOIN.finditer(sentence)],
                key=lambda m: m.start(),
            )
            joins = [m for i, m in enumerate(joins) if not i or m.start() >= joins[i - 1].end()]
            # "..., a and b are merged into c, c and d ...": the head first, then each join
            whole, sentence = sentence, sentence[: joins[0].start()] if joins else sentence
            pieces = _pieces(sentence) if sentence.strip(" ,") else []
            heads = [
                h
                for p in pieces
                if len(parts := _items(p)) == 2 and 1 <= len((h := parts[0]).split()) <= 2
            ]
            if (
                len(heads) >= 2
                and self.s.steps
                and not JOIN_SIGNAL.search(self.t)
                and all(self.s.find(h) is None for h in heads)
            ):
                self.outcomes = set(heads)  # "nsfw -> blur, violent -> remove": labels
            for p in pieces:
                self.piece(p)
            for k, joined in enumerate(joins):
                if not self.join_named(joined):
                    for p in _pieces(re.sub(r"^\s*,?\s*(?:then\s+)?", "", joined[0])):
                        self.piece(p)
                between = whole[joined.end() : joins[k + 1].start() if k + 1 < len(joins) else None]
                for p in _pieces(between) if between.strip(" ,") else []:
                    self.piece(p)
            if (in_intro or opened) and self.loop_scope is not None:
                self.close_loop()
                in_intro = False

    def resolve(self, name: str, head: bool = False) -> int | None:
        """The drawn step a name in a join says: 'layer1's output', 'the stage3 output';
        with `head`, also the one step whose last word is the name's ('question' for 'user
        question')."""
        s = self.s
        if head and len(words(name)) == 1:
            last = [i for i, x in enumerate(s.steps) if words(x)[-1:] == words(name)]
            return last[0] if len(last) == 1 else None
        bare = re.sub(r"'s\b", "", name).strip()
        for said in (bare, re.sub(OUTPUT_OF + "|\\s+output$", "", _name(bare))):
            said = _name(said)
            if said and (hit := s.find(said)) is not None:
                return hit
        said = _name(re.sub(OUTPUT_OF, "", _name(bare)))
        return s.find_loose(said) if said and len(said) >= 2 else None

    def named_op(self, item: str) -> bool:
        """'join tabular + tfidf', 'concat the chunks with the original question': a join
        step whose inputs are drawn steps (the second one named; the first one named, else
        the step before)."""
        s = self.s
        m = NAMED_OP.match(_name(item) or "x")
        if m is None or not s.ends:
            return False
        b = self.resolve(m["b"]) if s.steps else None
        if b is None:
            b = self.resolve(re.sub(r"^(?:original|initial|same|first)\s+", "", m["b"]), True)
        a = self.resolve(m["a"])
        if b is None or (b in s.ends and (a is None or a in s.ends)) or a == b:
            return False
        sources = [a] if a is not None else list(s.ends)
        name = _name(item)
        if len(name.split()) > MAX_STEP_WORDS:
            return False
        n = s.node(name)
        for e in [*sources, b]:
            s.add(e, n)
        s.ends, s.decision = [n], None
        return True

    def join_named(self, m: re.Match[str]) -> bool:
        """'a, b and c are (all) concatenated (together) and fed to d', 'a and b are merged
        into c', 'a is also concatenated with b before c': named drawn steps meet."""
        s = self.s
        names = _split_names(m["names"]) if m.groupdict().get("names") else [m["a"], m["b"]]
        sources = [self.resolve(n) for n in names]
        if len(sources) < 2 or any(x is None for x in sources):
            return False
        rest = m["rest"].strip(" ,")
        y = re.match(
            r"^(?:(?P<into>into|in)\s+|(?P<before>before)\s+|(?:and\s+)?(?:then\s+)?"
            r"(?:(?:are\s+|is\s+|get\s+)?(?:fed|passed|sent|go|goes|given)\s+)?(?:in)?to\s+|->\s*)"
            r"(?P<y>.+)$",
            rest,
        )
        if rest and y is None:
            return False
        target = _name(y["y"]) if y else ""
        if y and (not target or len(target.split()) > MAX_STEP_WORDS):
            return False
        ends = [x for x in sources if x is not None]
        if y and y["into"]:
            into = s.node(target)
        else:
            into = s.node(_op_noun(m["verb"]))
            if target:
                found = s.find(target)
                after = found if found is not None and found not in ends else s.node(target)
                if y["before"]:  # the join comes in before it
                    kept = [
                        (e, lab)
                        for e, lab in zip(s.edges, s.labels, strict=True)
                        if not (e[1] == after and e[0] in ends)
                    ]
                    s.edges, s.labels = [e for e, _ in kept], [lab for _, lab in kept]
                s.add(into, after)
        for e in ends:
            s.add(e, into)
        s.ends = [b for a, b in s.edges if a == into][-1:] if target and not y["into"] else [into]
        s.decision, self.fork_ends = None, []
        return True

    def close_loop(self) -> None:
        s = self.s
        if self.loop_scope is None:
            return
        start, label = self.loop_scope
        self.loop_scope = None
        if (
            start < len(s.steps)
            and s.ends
            and not any(b == start for _, b in s.edges if _ in s.ends)
        ):
            for e in s.ends:
                s.add(e, start, label)

    def graph(self) -> Graph | None:
        s = self.s
        if self.unknown or len(s.steps) < 2 or len(s.steps) > MAX_STEPS:
            return None
        if any(not x or len(x.split()) > MAX_STEP_WORDS for x in s.steps):
            return None
        for i, step in enumerate(s.steps):
            outs = [k for k, (a, _) in enumerate(s.edges) if a == i]
            into = [b for _, b in s.edges if b == i]
            if (
                step.endswith("?")
                and not into
                and len(outs) <= 1
                and not any(s.labels[k] for k in outs)
            ):
                _drop(s, i)  # "SE block?? x -> ...": a title, not a decision
                break
        used = {i for e in s.edges for i in e}
        if len(s.steps) > 2 and any(i not in used for i in range(len(s.steps))):
            return None
        names = {w for x in s.steps for w in words(x)}
        for k, label in enumerate(s.labels):
            named = any(matches(x, label) or matches(label, x) for x in s.steps)
            if not label or (not named and kind_of(label) == "step"):
                continue  # a label that reads as a pill stays
            kept = [w for w in label.split() if not (w.isalpha() and set(words(w)) & names)]
            kept = kept if kind_of(" ".join(kept) or "x") == "step" else []
            a, b = s.edges[k]
            s.labels[k] = " ".join(kept) if kept or b > a else ""
        outs = [a for a, _ in s.edges]
        ins = [b for _, b in s.edges]
        branchy = any(outs.count(i) > 1 or ins.count(i) > 1 for i in range(len(s.steps)))
        back = any(b <= a for a, b in s.edges)
        if not (branchy or back or any(s.labels)):
            return None
        return Graph(tuple(s.steps), tuple(s.edges), tuple(s.labels))


MORE_VERBS = (
    "fit score predict compute update sample generate eval validate test encode embed forward "
    "backprop crawl fetch get pick apply clean tokenize label check measure render resize "
    "normalize shuffle split augment feed insert put move store crop detect extract"
)
VERBS = set(ACTION) | set(MORE_VERBS.split())


def _for_each(sentence: str) -> re.Match[str] | None:
    """'for each fold train on the rest and validate': the loop says its noun, then a verb."""
    m = re.match(
        r"^(?P<how>(?:for (?:each|every)|per)\s+(?:\S+\s+){0,5}?)(?P<rest>(?P<v>\w+)\b.*)$",
        re.sub(r"^((?:each|every) \w+) (?:we|i|you) ", r"for \1 ", sentence),  # "every epoch we"
    )
    while m and m["v"] not in VERBS:
        m = re.match(
            rf"^(?P<how>{re.escape(m['how'] + m['v'])}\s+(?:\S+\s+){{0,5}}?)"
            r"(?P<rest>(?P<v>\w+)\b.*)$",
            m.string,
        )
    if m is None or len(m["how"].split()) > 7:
        return None
    return m


def _items(piece: str) -> list[str]:
    """A piece cut at its arrows, but not inside parentheses ("(x also -> multiply)")."""
    out, depth, start = [], 0, 0
    for m in re.finditer(r"[()]|\s*->\s*", piece):
        if m[0] == "(":
            depth += 1
        elif m[0] == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(piece[start : m.start()])
            start = m.end()
    return [*out, piece[start:]]


def _chain_of(s: _State) -> list[int]:
    """The first path from the first step, following first edges."""
    path = [0] if s.steps else []
    while path and (nxt := [b for a, b in s.edges if a == path[-1] and b not in path]):
        path.append(nxt[0])
    return path


def _dense(s: _State) -> None:
    """'each layer gets the concatenation of all previous layers': every earlier step feeds
    every later one."""
    path = _chain_of(s)
    for i, a in enumerate(path):
        for b in path[i + 2 :]:
            s.add(a, b, "")


def _levels(s: _State) -> None:
    """'each decoder gets a skip from the encoder at its level': enc2 -> dec2, down1 -> up1."""
    level = {}
    for i, step in enumerate(s.steps):
        m = re.fullmatch(r"(?P<side>enc\w*|down\w*|e|d|dec\w*|up\w*|u)\s*(?P<n>\d+)", step)
        if m:
            side = "in" if re.match(r"enc|down|e$", m["side"]) else "out"
            level[(side, m["n"])] = i
    for (side, n), i in level.items():
        if side == "in" and ("out", n) in level:
            s.add(i, level[("out", n)], "")


def _drop(s: _State, i: int) -> None:
    """Remove step i and its edges, renumbering the rest."""
    kept = [(a, b, lab) for (a, b), lab in zip(s.edges, s.labels, strict=True) if i not in (a, b)]
    s.steps.pop(i)
    s.edges = [(a - (a > i), b - (b > i)) for a, b, _ in kept]
    s.labels = [lab for _, _, lab in kept]


def _pair(item: str) -> list[str] | None:
    """'mu and logvar', 'picks expert 1 or expert 2': two short names side by side."""
    core = re.sub(r"^(?:picks?|chooses?|routes? to|either|one of)\s+", "", _name(item))
    parts = re.split(r"\s+(?:and|or)\s+", core)
    verb = parts[0].split()[0] if parts[0] else ""
    second = parts[1].split() if len(parts) == 2 else []
    if PARALLEL.search(item) and verb in VERBS and second and second[0] not in VERBS:
        return [parts[0], f"{verb} {parts[1]}"]  # "compute user and item features in parallel"
    short = all(1 <= len(p.split()) <= 2 for p in parts)
    if 2 <= len(parts) <= 4 and short and not any(p.split()[0] in VERBS for p in parts):
        return parts  # "-> bert, roberta and xlnet ->": side by side
    return None


def _verbs_and(item: str) -> list[str]:
    """'train and score', 'relu and fc' (two layers) -> two steps; 'query and docs' stays one."""
    parts = re.split(r"\s+and\s+", item)
    if len(parts) == 2 and all(p.split() and _verb(p.split()[0]) for p in parts):
        return parts
    if len(parts) == 2 and all(len(p.split()) <= 2 and kind_of(p) != "step" for p in parts):
        return parts
    return [item]


def _one_word_like(step: str, word: str) -> bool:
    """A one-word step said again in another form ('embed' / 'embedding', 'tokenize' /
    'tokenizer'): one starts with the other, four letters or more, and the rest a suffix."""
    if not re.fullmatch(r"[a-z]{4,}", step) or step == word:
        return False
    short, long = sorted((step, word), key=len)
    return long.startswith(short) and long[len(short) :] in ("ing", "ding", "r", "er", "s", "ed")


def _verb(word: str) -> bool:
    """'train', 'runs', 'dedups' (what 'the bot runs ...' says): a verb of a step."""
    return word in VERBS or any(word.endswith(e) and word[: -len(e)] in VERBS for e in ("s", "es"))


def _shared_head(names: list[str]) -> list[str]:
    """'clients a, b and c' -> clients a, clients b, clients c."""
    head = names[0].split() if names else []
    if len(head) == 2 and len(head[1]) == 1 and all(len(n) == 1 for n in names[1:]):
        return [names[0], *[f"{head[0]} {n}" for n in names[1:]]]
    return names


OUTPUT_OF = (  # "the backbone features", "the acoustic scores": what a drawn step gives
    r"\s+(?:outputs?|features|feature maps?|embeddings|results?|scores|logits|activations"
    r"|predictions|tokens)$"
)
SEND_BACK = (  # "fail -> send back to x": the way back names no step of its own
    r"^(?:it |then )?(?:send|sent|route|pass|kick|bounce|return|loop|go)s?(?: it)? back to\b"
)
HEADING = re.compile(r"^(?P<t>[\w/&+-]+(?: [\w/&+-]+){0,4}):\s+(?=\S)")
BRANCH_HEAD = rf"^(?:{YES}|{NO}|{ELSE})$"
TITLE = re.compile(
    r"^(?:[\w-]+\s+){0,4}(?:diagram|flow ?chart|chart|figure|pic|picture|graph|sketch)"
    r"(?:\s+(?:pls|please|plz|thx|thanks))?$"
)
QUESTION_START = r"(?:is|are|does|do|did|can|should|has|have|was|were|any|need|needs|will)\b"
ASKING = re.compile(
    r"\b(?:can|could|would|will) (?:you|u|i|we)\b|\b(?:draw|diagram|sketch|visuali[sz]e|show me)\b"
)
CHAT = re.compile(
    r"^(?:wait|ok|okay|hmm|hey|hi|so)\b.*\b(?:how|show|draw)\b|\bhow (?:do|can|should|would) i\b"
)


def _split_names(text: str) -> list[str]:
    parts = re.split(
        r"\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s+or\s+|\s*/\s*|\s+\+\s+|&)\s*", text.strip(" .:")
    )
    return [n for n in (_name(p) for p in parts) if n]


def _label(cond: str) -> str:
    """A condition as an edge label: its words without pronouns and auxiliaries."""
    w = re.sub(
        r"\b(?:the|a|an|is|are|it|its|if|was|were|be|they|has|have|do|does|did|"
        r"there|any|still)\b",
        " ",
        cond.lower(),
    ).split()
    return " ".join(w[:3])


def _loop_label(how: str) -> str:
    """How a loop repeats, as its edge label; none where the words name a block ("image",
    "loss"): a label must read as an edge label, not as a step."""
    how = BACK.sub(" ", how)  # "go back to 1": where it goes is the edge, not its label
    label = _label(re.sub(r"\b(?:repeat\w*|loop\w*|do|this|that|these|those)\b", " ", how))
    if not label:
        return "repeat"
    return label if kind_of(label) == "step" else ""


def _outcome(head: str, decision: str) -> bool:
    """'high risk', 'no drift', '< 7', 'improved', 'below 0.5': an edge label after a
    decision, not a step."""
    h = head.strip()
    if re.match(
        r"^(?:[<>]=?|=|above|below|over|under|between|not|no|none|ok|fail\w*|"
        r"pass\w*|success\w*|error\w*|low|medium|mid|high|improv\w*|worse|better|done)\b",
        h,
    ):
        return len(h.split()) <= 4
    if re.search(
        r"[<>]=?|\b(?:hits|reaches|exceeds|above|below|over|under)\b"
        r"|^\d+(?:\.\d+)?%?\s*(?:to|-)\s*\d+(?:\.\d+)?%?$",  # "0.5 to 0.9 -> review"
        h,
    ) and not h.endswith("?"):
        return len(h.split()) <= 4
    return bool(set(words(h)) & set(words(decision))) and len(h.split()) <= 3


def read_structure(text: str) -> Graph | None:
    """The steps and relations `text` states, or None when it states only a chain (or
    nothing this reader can read)."""
    if len(text) > MAX_CHARS:
        return None  # a long chat is no stated structure
    if NETWORK.search(text.lower()) and not LOOP_WORDS.search(text.lower()):
        return None
    t = _normal(text)
    first = t.split("\n", 1)[0]
    intro = re.match(r"^([^:\n]{0,100}?)(?::|\s+-\s+)\s*(?=\S|\n|$)", first)
    if (
        intro
        and not LOOP_INTRO.match(first)
        and not re.search(rf"->|\b(?:if|{YES}|{NO}|{ELSE})\b[^:]*$", intro[1])
        and not re.match(r"^\W*(?:(?:step|stage)\s*\(?\d|\(?\d+\s*(?:[.)\]:-]|$))", intro[1])
        # "step 1 - ..." and "1 - ..." are steps; "5 fold cv how to draw: ..." is an intro
        and not re.search(r"\b(?:branches|paths|heads|ways|parts)$", intro[1])  # "x feeds 3 heads:"
    ):
        t = t[intro.end() :]
    t = re.sub(r"^(?:draw|show|make)?[^,:\n]{0,40}?\bwhere\s+", "", t)
    dense = re.search(
        r"\b(?:each|every) (?:layer|block) (?:gets|receives|takes|sees)\b[^:.;]*\ball (?:the )?"
        r"previous(?: \w+)?\s*:?",
        t,
    )
    levels = re.search(
        r",?\s*(?:each|every) (?:decoder|up)\w* (?:block |level |stage )?"
        r"(?:gets|receives|takes|has)\b[^.;]*\b(?:level|same|matching)\b[^.;]*"
        r"|,?\s*skips? (?:between|at) (?:each|every|matching|the same) levels?",
        t,
    )
    for m in (dense, levels):
        if m:
            t = t.replace(m[0], " ")
    reader = _Reader(t)
    try:
        reader.read()
    except (IndexError, ValueError):
        return None
    if dense:
        _dense(reader.s)
    if levels:
        _levels(reader.s)
    if intro and SKIP_WORDS.search(intro[1]):
        reader.skip_note(intro[1])  # "bert with a shortcut from the embeddings to the pooler: ..."
    return reader.graph()


def only_forks(g: Graph) -> bool:
    """No loop and no labelled edge: forks, joins and skips only."""
    return not any(g.labels) and all(b > a for a, b in g.edges)


def _op_noun(verb: str) -> str:
    """The step a join verb draws: "added" -> "add"; "concatenated" and "summed" stay (the
    judge, like a reader, takes "concat" or "sum" for words the request did not say)."""
    return "add" if verb == "added" else verb


def _unsaid(item: str, question: str) -> str:
    """A branch's action without the words of its question said again before it ("centroids
    change? ... if not change stop" -> "stop"); the item itself when nothing else is left."""
    asked, said = set(words(question)), item.split()
    n = 0
    while n < len(said) - 1 and words(said[n]) and set(words(said[n])) <= asked:
        n += 1
    return " ".join(said[n:]) if n else item
