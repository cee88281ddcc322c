"""Read a layer stack from a request: `stack_blocks(text)` gives block names in order, or None.

A stack request lists layers with kinds the field names (conv, pool, dense, lstm, ...), as
in "64x64 grayscale input, conv 7x7 with 8 filters, average pool, conv 3x3 with 24 filters,
dense 256, output 5" or the original project's "224 x 224 input, 3 x 3 conv layer (output:
222 x 222), 2 x 2 max pooling layer (output: 111 x 111), ..., 512 and 64 nodes in the hidden
layers, 2 outputs". The blocks come back in sketch v2's words (docs/sketch.md): `input
224x224x3`, `conv 3x3 64 @222x222`, `max pooling 2x2`, `fc 512`, `output 2`: a block's
kind in the request's own words ("maxpool", "fully connected", "bn"), so that no label word
is invented; `blocks.kind_of` reads them all.

Rules, conservative like the other readers (a wrong structure is worse than none):
- items are split at commas, semicolons, bullets, new lines, "then", "followed by", arrows
  and "and" between two layers; an item names its kind with blocks.kind_of;
- sizes: `AxB` (also "A x B", "A*B") is a kernel, or a feature map after "output", "->" or
  for an input; "N filters / channels / kernels" or a bare number after the kind is a conv's
  filters; "N units / nodes / neurons" or a number after dense / fc / output is units;
- repeats: "2 3x3 conv layers", "two conv layers", "conv x2" give that many blocks (but
  "upsample x8" is a scale); "a -> b, two of them", "block repeated 3 times: a, b." and
  "two blocks, each block is a, b, then ..." repeat the run; ", each followed by relu" /
  "with relu after every one" put a relu after every block of the run of one kind before it;
- "512 and 64 nodes in the hidden layers" / "hidden layers with 512 and 64 nodes" are two
  dense blocks, a bare "128 nodes" one ("hidden 128"; "128 nodes with relu" and its relu),
  "2 outputs" / "10 classes" the output block; "add & norm" two blocks;
- shorthand: "in 32x32x3 | c3x3-32 bn+relu | mp2 | do0.3 | gap | fc256 | out 10" (its short
  names stay the labels, which blocks.kind_of reads; "|", " > ", " / ", "+" and spaces alone
  between short layers split; "s2" is a stride; "fc1" stays a layer's name);
- an item that only sizes the layer before it belongs to it ("conv 3x3, 32 filters (output
  30x30)"); "then another one" repeats the layer before; "3 channel" is no repeat, "3x3
  kernels" no filter count; an aside in brackets with no number is no block;
- at least two blocks, and what only a stack states: a conv, pool, rnn, attention,
  embedding, upsample, flatten, norm, dropout or a lone activation ("relu"), two layers named
  dense / fc / linear ("dense 8, dense 4, output 2"), or an image input ("32 * 32 input")
  (else it is a network or a flow, read elsewhere); every item must be read: an item that
  names no kind makes the whole reading None, but chat before the list is skipped when sized
  layers follow; an intro ends at a colon or "with" ("a cnn with ..."), but not "input: 96 x
  96" nor "lstm with 128 units"; an intro may count the model's parts ("one hidden layer:",
  "just one tower:") or name a lecture ("cnn for lecture 4:"), but sizes no layer.
"""

from __future__ import annotations

import re

from engine.diagram import blocks
from engine.diagram.numbers import words_to_digits

STACK_KINDS = {"conv", "pool", "rnn", "attention", "embedding", "upsample", "flatten", "norm"}
STACK_KINDS |= {"dropout", "activation"}  # an MLP with dropout / relu layers: its layer stack
_ACTIVATION = re.compile(blocks.KINDS["activation"][0])
DENSE_ITEM = re.compile(r"^(?:\d+\s+)?(?:dense|fc|linear)\b")  # "dense 8, dense 4": named layers
MAX_BLOCKS = 60
MAX_WORDS = 5  # a block name longer than this is a sentence
_SPLIT = re.compile(
    r"\s*(?:[,;\n•]|(?<!\w)[-*] |->|→|=>|\bthen\b|\bfollowed by\b|\band then\b|\bnext\b"
    r"|\bafter that\b|\bfinally\b|\bplus\b|\.(?:\s|$))\s*"
)
_DIM = re.compile(r"(\d+)\s*[x×*]\s*(\d+)(?:\s*[x×*]\s*(\d+))?")
_OUT_MAP = re.compile(
    r"(?:output|out|->|=>|gives|giving|to)\s*(?:size|shape|map)?\s*[:=]?\s*"
    r"(\d+)\s*[x×*]\s*(\d+)(?:\s*[x×*]\s*(\d+))?"
)
_FILTERS = re.compile(r"(?<![x\d])(\d+)\s*(?:filters?|channels?|kernels?|feature maps?|maps?)\b")
_UNITS = re.compile(r"(\d+)\s*(?:units?|nodes?|neurons?|hidden units?|dims?|dimensions?)\b")
_REPEAT = re.compile(
    r"^(?:(\d+)(?:-layers?)?\s+(?!channels?\b|ch\b|filters?\b|kernels?\b|units?\b|nodes?\b)"
    r"(?=(?:[a-z-]+\s+){0,2}(?:\S*\d+x\d+|\w*conv|\w*pool|dense|fc|fully\s+connected|"
    r"lstm|gru|rnn|bi-?lstm|transformer|encoder|decoder|attention))|(\d+)x\s+)"
)
_GROUP = re.compile(r"\b(\d+)\s*(?:x|times)\s*\(([^()]*)\)")  # "2 x (attention, norm)"
_GROUP_AFTER = re.compile(  # "[conv -> bn -> relu] x2", "(conv, bn, relu) repeated 4 times"
    r"[\[(]([^\[\]()]*?(?:,|->|→)[^\[\]()]*)[\])]\s*(?:[x×*]\s*(\d+)|repeated\s+(\d+)\s+times)"
)
_PAREN_ARROW = re.compile(r"\(\s*(?:->|→|=>)\s*(\d+x\d+(?:x\d+)?)\s*\)")
_EACH_LIST = re.compile(  # "3 conv layers (32, 64, 128 filters)", "... with 16, 32 and 64 filters"
    r"\b(\d+)\s+([a-z ]*?conv\w*|dense|fc|lstm|gru)\s+layers?\s*(?:\(\s*|with\s+)"
    r"(\d+(?:\s*(?:,\s*(?:and\s+)?|\s+and\s+)\d+)+)\s*"
    r"(filters|units|nodes|neurons|channels)?\s*(?:,\s*(?:all\s+)?(?P<k>\d+x\d+))?\s*\)?"
)
_OUT_ARROW = re.compile(r"\s*(?:->|→|=>)\s*(\d+x\d+(?:x\d+)?)(?=\s*(?:[;,\n]|$))")
_TIMES = re.compile(
    r"\s[x×*]\s*(\d)\b(?=\s*(?:\d+\s*(?:filters?|channels?|units?|nodes?|neurons?)\s*)?$)"
    r"|\b(\d+)\s+times\b|\btwice\b"
)
# sizes of several layers; not the count of the outputs after them ("hidden layers: 256, 128,
# 4 outputs", "a hidden layer of 512, 1 output")
_SIZE_IN_LIST = r"\d+(?!\d)(?!\s*(?:outputs?|classes|labels|categories|output nodes)\b)"
_HIDDEN_LIST = re.compile(
    rf"(?P<sizes>\d+(?:\s*(?:,|and|&)\s*{_SIZE_IN_LIST})+)\s*(?:nodes|units|neurons)?\s*"
    r"(?:in|for)\s+(?:the\s+)?(?:\w+\s+)?(?P<kind>hidden|dense|fully connected|fc)\s+layers?"
)
_HIDDEN_WITH = re.compile(  # "hidden layers with 100 and 50 nodes", "hidden layers: 256, 128"
    r"\b(?:\d+\s+)?(?P<kind>hidden)\s+layers?\s*(?:with\s+|of\s+|:\s*|=\s*)"
    rf"(?P<sizes>\d+(?:\s*(?:,|and|&)\s*{_SIZE_IN_LIST})+)\s*"
    r"(?:nodes|units|neurons)?"
)
_HIDDEN_ANOTHER = re.compile(  # "a hidden layer of 128 and another (one) of 32"
    r"\b(?P<kind>hidden)\s+layer\s+(?:of|with)\s+(?P<a>\d+)\s*(?:nodes|units|neurons)?\s*,?\s*"
    r"and\s+(?:an)?other(?:\s+one|\s+hidden layer|\s+layer)?\s+(?:of|with)\s+(?P<b>\d+)"
    r"(?:\s*(?:nodes|units|neurons))?"
)
_HIDDEN_ONE = re.compile(  # "64 nodes in the hidden layer": the request's "hidden", one block
    r"\b(?P<a>\d+)\s*(?:nodes|units|neurons)\s+(?:in|for|on)\s+(?:the\s+|a\s+|one\s+)?"
    r"(?:single\s+|only\s+)?(?P<kind>hidden)\s+layer\b(?!s)"
)
_ATTRIBUTE = re.compile(  # how a layer slides, not a layer: "stride 2", "padding 1", "same padding"
    r"\b(?:stride|padding|pad|dilation)\s*(?:of\s+)?[=:]?\s*(?:\d+|same|valid)\b"
    r"|\b(?:same|valid)\s+padding\b"
)
_OUTPUTS = re.compile(r"^(\d+)\s*(?:outputs?|classes|output nodes|labels|categories)\b")
_INTRO = re.compile(r"^.*?\b(?:with|has|having|contains?|containing|of|:)\s+", re.S)
FILLER = re.compile(r"\b(?:a|an|the|layers?(?! ?norm)|of|then|please|pls|block|more)\b")


_CAMEL = re.compile(  # Keras' layer names: "GlobalAveragePooling1D" -> "Global Average Pooling1D"
    r"\b(?=[A-Z][a-z]+(?:[A-Z][a-z]+)+(?:[123]D)?\b)"
    r"(?=\w*(?:Pool|Norm|Conv|Dense|Dropout|Average|Global|Batch|Layer|Embedding))\w+"
)


_ACTS = r"(?:leaky\s+)?relu|sigmoid|tanh|gelu|elu|selu|softmax"


def _normal(text: str) -> str:
    text = _CAMEL.sub(lambda m: re.sub(r"(?<=[a-z])(?=[A-Z])", " ", m[0]), text)
    t = words_to_digits(text.lower())
    t = re.sub(r"\brepeated (?:twice|2x)\b", "repeated 2 times", t)
    t = re.sub(r"\brepeated (?:thrice|3x)\b", "repeated 3 times", t)
    # "3 x 3", "32 * 32" -> "3x3"; not "conv 3x3 64 x2", a repeat
    t = re.sub(r"(\d)(?:[x×]| [x×] |[ \t]*\*[ \t]*| by )(?=\d)", r"\1x", t)
    t = re.sub(r"\s*\([^()\d,>→]*\)", " ", t)  # "2 outputs (bird / no bird)": an aside
    # "3 outputs which are left, straight and right": the classes' names, no layers
    t = re.sub(r"(\d+\s+(?:outputs?|classes))\s*,?\s+(?:which|that)\s+(?:are|is|say|says|mean)\b"
               r"[^.;\n]*", r"\1", t)
    # "..., then 512 nodes with relu": an item of its own is the layer and its activation
    t = re.sub(rf"(?m)((?:^|[,;>]|\bthen)\s*(?:[-*•]\s*)?\d+\s*(?:nodes|units|neurons))\s+"
               rf"(?:with|and|\+)\s+({_ACTS})\b", r"\1, \2", t)
    t = re.sub(r"\b(conv|pool|maxpool|avgpool)(?=\d+x\d+)", r"\1 ", t)  # "conv3x3"
    return _shorthand(t)


# a layer named in a few letters, its own label: "c3x3-32", "mp2", "gap", "do0.3", "flat"
_SHORT_NAME = r"c\d+x\d+(?:-\d+)?(?:/\d)?|[ma]p\d(?:/\d)?|gap|gmp|do\d*\.\d+|flat"
_SHORT = re.compile(  # a layer a competitor's list names in one word or two ("fc 256")
    rf"{_SHORT_NAME}|fc\s?\d+|dense\s?\d+"
    r"|bn|relu|softmax|sigmoid|tanh|flatten|dropout|input\s\d+x\d+(?:x\d+)?|\d+\soutputs"
)


def _shorthand(t: str) -> str:
    """A competitor's shorthand as items: "in 32x32x3 | c3x3-32 bn+relu | mp2 | out 10"; the
    short names stay the labels (blocks.kind_of reads them), sizes are spaced ("fc 256")."""
    t = re.sub(r"\b(?:in|inp)\s+(?=\d+x\d+)", "input ", t)
    t = re.sub(r"(\d+x\d+(?:x\d+)?)\s+in\b", r"input \1", t)
    t = re.sub(r"\bout\s*(\d+)\b", r"\1 outputs", t)
    t = re.sub(r"\b(fc|dense)(\d\d+)\b", r"\1 \2", t)  # "fc256"; "fc1" is a name
    t = re.sub(r"(?<=[a-z0-9])\s*\+\s*(?=[a-z])", ", ", t)  # "bn+relu"
    t = re.sub(r"\s+s\d\b", "", t)  # "c3x3-96 s2": a stride
    t = re.sub(r"\s*(?:\|| > | / )\s*", ", ", t)
    return re.sub(  # "c3x3-64 c3x3-64 mp2 gap fc10": spaces alone between short layers
        rf"(?:(?:{_SHORT.pattern})\s+)+(?:{_SHORT.pattern})(?=\s*(?:,|$|\n))",
        lambda m: _spaced(m[0]),
        t,
    )


def _spaced(run: str) -> str:
    tokens = re.findall(_SHORT.pattern, run)
    return ", ".join(tokens) if " ".join(tokens) == " ".join(run.split()) else run


def _items(text: str) -> list[str]:
    # "512 and 64 nodes in the hidden layers" first: its "and" is not a separator.
    for said in (_HIDDEN_LIST, _HIDDEN_WITH):  # in the request's words: "fc 512", "hidden 64"
        text = said.sub(
            lambda m: " , ".join(f"{m['kind']} {n}" for n in re.findall(r"\d+", m["sizes"]))
            + " , ",
            text,
        )
    text = _HIDDEN_ANOTHER.sub(lambda m: f" {m['kind']} {m['a']} , {m['kind']} {m['b']} , ", text)
    text = _HIDDEN_ONE.sub(lambda m: f" {m['kind']} {m['a']} , ", text)
    # "(output: 222x222)", "input (30 timesteps, 8 features)": the brackets belong to their item
    text = re.sub(r"\(([^)]*)\)", lambda m: " " + m[1].replace(",", " ") + " ", text)
    parts: list[str] = []
    for part in _SPLIT.split(text):
        # "conv 3x3 and max pool": "and" between two layer kinds is a separator.
        pieces = re.split(
            r"\s+(?:and|&)\s+(?!(?:stride|padding|pad|dilation)\b)(?=(?:\d+\s+)?(?:\d+x\d+\s+)?[a-z])",
            part,
        )
        for piece in pieces:
            piece = piece.strip(" .:")
            if piece:
                parts.append(piece)
    return parts


def _repeats(item: str) -> tuple[int, str]:
    """(how many blocks, the item without its count); "upsample x8" is a scale, not 8 blocks."""
    times = _TIMES.search(item)
    if times and not (times.group(1) and blocks.kind_of(item) == "upsample"):
        n = int(times.group(1) or times.group(2) or 2)
        return n, item[: times.start()] + item[times.end() :]
    m = _REPEAT.match(item)
    if m:
        return int(m.group(1) or m.group(2)), item[m.end() :]
    return 1, item


def _block(item: str) -> str | None:
    """The block name an item states (None when it names no block kind)."""
    kind = blocks.kind_of(item)
    if re.fullmatch(_SHORT_NAME, item):
        return item  # "c3x3-32", "mp2": the shorthand is the label
    bare = re.fullmatch(r"(\d+)\s*(?:hidden\s+)?(?:nodes?|units?|neurons?)", item)
    if kind == "step" and bare:
        return f"hidden {bare[1]}"  # "..., 128 nodes, 10 outputs": a dense layer's size
    if kind == "step":
        return None
    outputs = _OUTPUTS.match(item)
    if outputs:
        return f"output {outputs.group(1)}"
    item = _ATTRIBUTE.sub(" ", item)  # "conv 3x3 stride 1": the 1 is no filter count
    out_map = _OUT_MAP.search(item)
    rest = item[: out_map.start()] + item[out_map.end() :] if out_map else item
    dims = _DIM.search(rest)
    filters = _FILTERS.search(rest)
    units = _UNITS.search(rest)
    numbers = [int(n) for n in re.findall(r"(?<![\w.])(\d+)(?![\w.])", _DIM.sub(" ", rest))]
    if not _DIM.search(item) and not re.search(r"\d", item):
        # No sizes: the request's own words are the label ("add & norm", "feed forward").
        return " ".join(FILLER.sub(" ", item).split()) or kind
    words = _kind_words(kind, item)
    if kind == "input":
        if dims:
            channels = dims.group(3) or (
                "3"
                if re.search(r"\b(?:rgb|colou?r)\b", item)
                else "1"
                if re.search(r"\b(?:gr[ae]yscale|gray|grey|mono)\b", item)
                else None
            )
            return "input " + "x".join(filter(None, (dims.group(1), dims.group(2), channels)))
        return f"input {numbers[0]}" if numbers else "input"
    parts = [words]
    if kind in {"conv", "pool", "upsample"} and dims:
        parts.append(f"{dims.group(1)}x{dims.group(2)}")
    count = filters or units
    if count:
        parts.append(count.group(1))
    elif kind in blocks.UNIT_KINDS and numbers:
        parts.append(str(numbers[0]))
    elif kind == "dropout" and re.search(r"\d*\.\d+", item):
        parts.append(re.search(r"\d*\.\d+", item).group(0))
    if out_map:
        parts.append("@" + "x".join(filter(None, out_map.groups())))
    return " ".join(parts)


def _kind_words(kind: str, item: str) -> str:
    """The block's kind in the request's own words ("maxpool", "average pooling", "fc",
    "bn", "conv2d"): a label word the request did not say would be invented. Inputs and
    outputs are "input" / "output" ("10 classes" -> "output 10")."""
    if kind in ("input", "output") or kind not in blocks.KINDS:
        return kind
    found = re.search(rf"(?<![\w-])(?:{blocks.KINDS[kind][0]})(?!\w)", item)
    return found.group(0) if found else kind


def _expanded(t: str) -> str:
    """Repeats written as groups, said as plain lists: "2 x (a, b)" -> "a, b, a, b";
    "3 conv layers (32, 64, 128 filters)" -> "conv 32 filters, conv 64 filters, ..." (a
    following "each followed by" is `_repeated`'s); "3x3 conv -> 94x94" -> "3x3 conv output
    94x94"."""
    t = _GROUP.sub(lambda m: ", ".join([m[2]] * min(int(m[1]), 12)), t)
    t = _GROUP_AFTER.sub(
        lambda m: ", ".join([re.sub(r"\s*(?:->|→)\s*", ", ", m[1])] * min(int(m[2] or m[3]), 12)),
        t,
    )

    def each(m: re.Match[str]) -> str:
        if int(m[1]) != len(re.findall(r"\d+", m[3])):
            return m[0]  # "2 conv layers (32, 64, 128)": the count does not fit the sizes
        unit = m[4] or ("filters" if "conv" in m[2] else "units")
        kernel = f" {m['k']}" if m["k"] else ""
        names = (f"{m[2].strip()}{kernel} {n} {unit}" for n in re.findall(r"\d+", m[3]))
        return ", ".join(names)

    t = _EACH_LIST.sub(each, _PAREN_ARROW.sub(r" output \1", t))
    return _OUT_ARROW.sub(r" output \1", t)


_CHAIN_REPEAT = re.compile(r",?\s*\b(?:(\d+) of (?:them|those|these)|repeated (\d+) times)\b")
_BLOCKS_EACH = re.compile(  # "two conv blocks, each block is conv 3x3, bn, relu, then ..."
    r"\b(\d+)\s+(?:[\w-]+\s+)?(?:blocks?|stages?),?\s+(?:each|every one)(?:\s+(?:block|stage|one))?"
    r"\s*(?:is|has|being|of|with|consisting of|contains|:)\s+"
    r"(.+?)(?=,?\s*(?:then|followed by)\b|[.;\n]|$)"
)
_REPEAT_INTRO = re.compile(  # "vgg block repeated 3 times: conv, conv, pool." -> the items 3 times
    r"\s*\b(?:repeated|repeat|x)\s*(\d+)\s*(?:times|x)?\s*:\s*([^.;\n]+)"
)
_EACH_AFTER = re.compile(  # ", each followed by relu": relu after every block of the run before
    r"(?:(?:^|(?<=[,)]))\s*(?:each|every|all)(?: one| 1| of them| of those| layer)?"
    r"(?:\s*,\s*then|\s+then|\s+followed by)\s+(?:an?\s+)?"
    r"|\s+with\s+(?=[a-z][\w ]*?\s+after\s+(?:each|every)\b))"
)
EACH = "<each> "


def _repeated(t: str) -> str:
    """Repeats said after or before a run of layers, said plainly: "a -> b, two of them" ->
    "a -> b, a -> b"; "block repeated 3 times: a, b." -> "block: a, b, a, b, a, b."; and
    "..., each followed by relu" / "with relu after every one" marked for `_after_each`."""
    t = _chain_repeat(t)
    t = _BLOCKS_EACH.sub(lambda m: ", ".join([m[2]] * min(int(m[1]), 12)), t)
    t = _REPEAT_INTRO.sub(lambda m: ": " + ", ".join([m[2]] * min(int(m[1]), 12)), t)
    t = _EACH_AFTER.sub(f" , {EACH}", t)
    return re.sub(rf"({EACH}[\w ]*?)\s+after\s+(?:each|every)(?: one| of them| layer)?\b", r"\1", t)


def _chain_repeat(t: str) -> str:
    """"conv -> conv -> pool, two of them": the arrow chain before the count, repeated."""
    m = _CHAIN_REPEAT.search(t)
    if m is None:
        return t
    before = t[: m.start()]
    cut = max(before.rfind(c) for c in ",;:\n") + 1  # the chain starts after the last comma
    chain = before[cut:].strip()
    if not re.search(r"->|→|=>", chain):
        return t
    copies = ", ".join([chain] * min(int(m[1] or m[2]), 12))
    return before[:cut] + " " + copies + _chain_repeat(t[m.end() :])


def _after_each(out: list[str], name: str) -> list[str]:
    """`name` after every block of the run of one kind that ends `out`."""
    start = len(out)
    while start > 0 and blocks.kind_of(out[start - 1]) == blocks.kind_of(out[-1]):
        start -= 1
    return out[:start] + [b for block in out[start:] for b in (block, name)]


_SIZE_WORDS = r"(?:units?|filters?|nodes?|neurons?|channels?|hidden units?)"


# a number in an intro that sizes a layer ("3 layers:", "dense 64 with"), not one that counts
# the model's parts or names a lecture ("one hidden layer:", "just 1 tower:", "lecture 4:")
_INTRO_SIZE = (
    r"\d+x\d+|->|→|(?<![\w.])\d+(?![\w.])(?!\s+(?:hidden\s+layers?|towers?|branch\w*|heads?)\b)"
    r"(?<!lecture \d)(?<!lecture \d\d)(?<!slide \d)(?<!slide \d\d)(?<!week \d)(?<!part \d)"
)


def _without_intro(t: str) -> str:
    """The text after its introduction: "my cnn: ...", "a cnn with ...", "encoder of my
    seq2seq: ..." (a colon wins over "with"); none when the intro states sizes. A first
    sentence with no size and no layer in it is chat ("hello, i need a diagram for my
    model. ...", "audio classifier on the raw waveform. input 16000, ...")."""
    first, dot, after = t.partition(". ")
    if dot and not re.search(r"\d", first) and (_CHAT.search(first) or not any(
        blocks.kind_of(w) in STACK_KINDS | {"dense", "input"} for w in re.findall(r"[a-z]+", first)
    )):
        t = after  # "i'd like a diagram of a tiny convnet for a hobby project. the input is ..."
    clause, line = re.split(r"[,;\n]", t, maxsplit=1)[0], t.split("\n", 1)[0]
    # a colon ends an intro of several clauses ("vit-ish, no details: ..."), "with" one clause
    for mark, first in ((r":(?:\s|$)", line), (r"\bwith\s", clause)):
        found = re.search(mark, first)
        before = first[: found.start()] if found else ""
        if found and re.fullmatch(r"\s*(?:[-*•]\s*)?(?:the\s+)?(?:input|output)s?\s*", before):
            continue  # "input: 96 x 96, ...": the first layer, not an intro
        if found and re.match(rf"\d+\s*{_SIZE_WORDS}\s*$", first[found.end():]):
            continue  # "bidirectional lstm with 128 units, ...": the layer's size
        if found and not re.search(_INTRO_SIZE, before):
            rest = t[found.end() :]
            # "conv layers: 5x5 32, 5x5 32, 3x3 64": the intro names the items' kind
            said = re.fullmatch(
                r"\s*(?:the\s+)?(conv\w*|dense|fc|lstm|gru)\s+layers?\s*:?\s*", first[: found.end()]
            )
            if said:
                return re.sub(
                    r"(?:^|(?<=,))\s*(?=\d+x\d+\s+\d+\s*(?:,|$|\.))", f" {said[1]} ", rest
                )
            return rest
    return t


_CHAT = re.compile(  # words of a sentence to the bot, not of a layer or a step
    r"\b(?:thanks?|thank you|thx|pls|please|fancy|figure|diagram|draw\w*|bot|help|want|need|"
    r"can (?:you|u|the)|could|would|looks?|it|its|this|that|just|simple|nothing else)\b"
)
_MODEL = re.compile(
    r"(?:(?:a|an|the|my|simple|small|tiny|basic|deep|convolutional|neural|conv ?nets?|cnn|"
    r"network|net|model|classifier|please|pls|make me|draw|can i get|can you draw|it|this)\s*)+"
)
_OPENING = re.compile(
    r"^(?P<head>[^\d]*?)\b(?:that\s+)?(?:with|has|having|takes?|taking|contains?|containing)\s+"
    r"(?P<tail>.*\d.*)$"
)
_IMAGES = re.compile(
    r"^(?P<dims>\d+x\d+(?:x\d+)?)\s*(?P<channels>rgb|gr[ae]yscale|gr[ae]y|colou?r)?\s*"
    r"(?:images?|pictures?|photos?|frames?)$"
)


_AGAIN = re.compile(r"(?:(?:and|then)\s+)*(?:another(?: one| 1)?|(?:one|1) more|same again)")
_SIZE_ONLY = re.compile(  # an item that only sizes the layer before it
    r"(?:each\s+)?(?:with\s+)?\d+\s*(?:filters?|channels?|kernels?|feature maps?)"
    r"(?:\s+(?:output\s*)?\d+x\d+(?:x\d+)?)?"
    r"|(?:with\s+)?\d+x\d+(?:\s+kernels?)?|(?:giving|->)\s*\d+x\d+(?:x\d+)?"
)


def _opening(item: str) -> str:
    """The first item without the model it introduces: "convnet" alone is no layer; "a
    convnet that takes 50x50 grayscale images" is its input; "can i get a convnet with
    224x224 rgb input" is that input."""
    if _MODEL.fullmatch(item):
        return ""
    m = _OPENING.match(item)
    if m and _MODEL.search(m["head"]):
        item = m["tail"].strip()
    images = _IMAGES.match(item)
    return f"{images['dims']} {images['channels'] or ''} input" if images else item


_CALL = re.compile(  # "nn.Conv1d(1, 16, 5)", "Conv2D(16, (3, 3))", "Input(shape=(48, 48, 1))"
    r"(?:\bself\.\w+\s*=\s*)?(?:\b[a-z_]\w*\.)*(?P<name>[A-Z]\w*)\s*"
    r"\((?P<args>[^()]*(?:\([^()]*\)[^()]*)*)\)"
)
_TORCH_SECOND = {"conv1d", "conv2d", "conv3d", "linear", "lstm", "gru", "rnn", "embedding"}


def _call(m: re.Match[str]) -> str:
    """A layer call as the words a request would say: PyTorch's sizes come second
    ("nn.Linear(128, 6)" -> "linear 6", "nn.LSTM(64, 128, num_layers=2)" -> "lstm 128" twice),
    Keras' first ("Dense(64)", "Conv2D(16, (3, 3))"); "Input(shape=(48, 48, 1))" -> "input
    48x48x1". Keyword arguments, strides and kernels are not drawn."""
    name, args = m["name"], m["args"]
    if name.lower() == "input" and (shape := re.search(r"\(([\d\s,]+)\)", args)):
        return " input " + "x".join(re.findall(r"\d+", shape[1])) + " "
    plain = [a.strip() for a in re.sub(r"\([^()]*\)", "", args).split(",") if a.strip()]
    numbers = [a for a in plain if a.isdigit()]
    torch = name.lower() in _TORCH_SECOND and name[-1] != "D"  # Conv2d / Linear, not Conv2D
    size = numbers[1] if torch and len(numbers) >= 2 else (numbers[0] if numbers else "")
    if name.lower() in {"maxpool1d", "maxpool2d", "dropout", "batchnorm1d", "batchnorm2d"}:
        size = ""  # a kernel or a rate, not a size
    layers = re.search(r"num_layers\s*=\s*(\d)", args)
    words = re.sub(r"(?<=[a-z])(?=[A-Z][a-z])", " ", name)  # "MaxPool2d" -> "Max Pool2d", "ReLU"
    return " " + ", ".join([f"{words} {size}".strip()] * int(layers[1] if layers else 1)) + ", "


def stack_blocks(text: str) -> tuple[str, ...] | None:
    """The blocks a stack request states, in order, or None (see the module docstring)."""
    text = re.sub(r"`{3}\w*", "\n", text)  # a pasted code block's fences
    # the Sequential(...) wrapper first: its layers are the calls, it is none of them
    text = _CALL.sub(_call, re.sub(r"(?i)\b(?:nn\.)?sequential\s*\(\s*\[?", " ", text))
    text = re.sub(r"(?m)^\s*\w+\s*=\s*$|^\s*[\])]+\s*\)?\s*$|,\s*\)\s*$", " ", text)
    t = re.sub(r"\bstep\s*\d+\s*[:.)]\s*|(?m:^\s*\(?\d+[.)]\s+)", " ", _normal(text))
    t = re.sub(r"\bw/\s*", "with ", t).rstrip(" ?!.")
    t = re.sub(r"\]\s*\)|\(\s*\)", " ", t)  # the wrapper's "])", a call's empty "()"
    words = re.findall(r"[a-z][\w-]*", t)
    if not any(blocks.kind_of(w) in STACK_KINDS | {"dense", "input"} for w in words):
        return None
    t = _expanded(_repeated(t))
    body = _without_intro(t)
    out: list[str] = []
    intro = False  # chat before the list ("im new to this, ..."): skipped, if sizes follow
    chat_after = False  # chat after it ("nothing fancy"): skipped, if nothing follows
    named = 0  # items that name a dense layer ("dense 8, dense 4, output 2"): a stack
    marked = False  # an item only a stack states: a conv, pool, ..., or a lone "relu"
    last, times = "", 0  # the last block's item and how many blocks it gave
    for item in _items(body):
        if item.startswith(EACH):
            name = _block(item.removeprefix(EACH))
            if name is None or not out:
                return None
            out = _after_each(out, name)
            marked = marked or blocks.kind_of(name) in STACK_KINDS  # "each followed by relu"
            continue
        if out and last and _AGAIN.fullmatch(item):
            item = last  # "a 3x3 conv with 64 filters, then another one"
        item = re.sub(r"^(?:(?:and|then|a|an|the|first|1st|another|one more)\s+)+", "", item)
        item = re.sub(r"^(?:after|before)\s+(?:that|them|this|those)\s*:?\s*", "", item)
        item = re.sub(r"^(?:there\s+(?:is|are)|comes?|we\s+have)\s+(?:a\s+|an\s+)?", "", item)
        item = _opening(item) if not out else item
        if item in {"and", "then", "and then", "finally", "next", ""} or _ATTRIBUTE.fullmatch(
            re.sub(r"^(?:with|using)\s+", "", item)
        ):
            continue  # "stride 2" on its own: how the layer before slides
        item = re.sub(r"^(?:(?:starts?|ends?|begins?|finish(?:es)?)\s+with\s+)", "", item)
        if re.match(r"(?:with|using|where|so|but)\b", item):
            return None  # a note on the structure ("with residual connections"): not a layer
        before = blocks.read_block(out[-1]) if out else None
        filters = bool(  # "conv 3x3, 32": a conv with no filters yet takes them
            before and times == 1 and re.fullmatch(r"\d+", item)
            and before.kind == "conv" and before.units is None
        )
        if out and last and (_SIZE_ONLY.fullmatch(item) or filters):  # "conv 3x3, 32"
            merged = _block(f"{last} {item}")  # "conv 3x3, 32 filters": the conv's filters
            if merged is not None and blocks.kind_of(merged) == blocks.kind_of(out[-1]):
                out[-times:] = [merged] * times
                last = f"{last} {item}"
                continue
        n, item = _repeats(item)
        named += n * bool(DENSE_ITEM.match(item))
        name = _block(item)
        alone = _ACTIVATION.fullmatch(" ".join(FILLER.sub(" ", item).split()))  # "relu", no
        marked = marked or bool(name and blocks.kind_of(name) in STACK_KINDS - {"activation"})
        marked = marked or bool(alone)  # "1 sigmoid output"
        if name is not None and len(name.split()) > MAX_WORDS:
            return None  # a sentence, not a layer: the flow reader knows sentences
        if name is None:
            if re.fullmatch(
                r"(?:(?:cnn|model|network|net|architecture|a|an|the|simple|"
                r"small|deep|convolutional|neural|please|pls|thanks|for \w+)\s*)+",
                item,
            ):
                continue  # "a simple CNN", "please": the request around the list
            if not out and not re.search(r"\d", item):
                intro = True
                continue
            if len(out) >= 2 and not re.search(r"(?<![a-z])\d", item) and _CHAT.search(item):
                chat_after = True  # "nothing fancy", "thank you": the list has ended
                continue
            return None
        if chat_after:
            return None  # a layer after chat: not one list
        out += [name] * min(n, MAX_BLOCKS)
        last, times = item, min(n, MAX_BLOCKS)
        if len(out) > MAX_BLOCKS:
            return None
    kinds = [blocks.kind_of(b) for b in out]
    if len(out) < 2 or (intro and not any(re.search(r"\d", b) for b in out)):
        return None
    image = kinds[0] == "input" and "x" in out[0]  # "32 * 32 input image, then 1024 nodes ..."
    if set(kinds) == {"activation"} or not (marked or named >= 2 or image):
        return None
    return tuple(out)
