"""Layer stacks for sketch v2 (`blocks:`): CNNs, LSTMs/GRUs, transformer stacks, decoders.

A stack is a list of typed blocks in sketch v2's words (docs/sketch.md: `input 224x224x3`,
`conv 3x3 64`, `conv 3x3 @222x222`, `max pool 2x2`, `dense 512`, `lstm 128`, `output 2`).
Each request says every block once, in one of several registers:

- the original project's style: "224 x 224 input, 3 x 3 conv layer (output: 222 x 222),
  2 x 2 max pooling layer (output: 111 x 111), ..., 512 and 64 nodes in the hidden layers,
  2 outputs" (sizes computed: a valid conv shrinks the map by kernel - 1, a pool halves it);
- natural prose: "a CNN with a 32x32x3 input, two 3x3 conv layers with 32 filters, max
  pooling, a dense layer of 128 and 10 outputs" (repeats, number words);
- terse lists: "conv 3x3 32 -> max pool -> dense 10", bullets, "then", "followed by".

The answer's blocks are what engine/diagram/spec_stack.py reads from the request (the hint
the model sees and the structure the pipeline grafts), so the model learns to copy the
hint. A request that reader cannot read is kept only when its blocks are the generator's
own canonical names, every one stated in the request; a request it reads differently (other
kinds or units) is dropped and a new one drawn.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from engine.diagram.blocks import read_block
from engine.diagram.spec import extract_spec
from training.data.steps import list_steps
from training.data.wording import Words

TENS = ("", "ten", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
SMALL = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)  # fmt: skip


def number_word(n: int) -> str:
    """0-99 in words ("sixty-four"); larger numbers stay digits."""
    if n < 20:
        return SMALL[n]
    if n < 100:
        tens, unit = divmod(n, 10)
        return TENS[tens] + (f"-{SMALL[unit]}" if unit else "")
    return str(n)


def size(n: int, w: Words, share: float = 0.15) -> str:
    """A size as digits or, now and then, as words (only below 100: readers stop there)."""
    return number_word(n) if n < 100 and w.chance(share) else str(n)


@dataclass(frozen=True)
class Stack:
    blocks: tuple[str, ...]  # the answer's blocks (what the request states)
    description: str
    template: str
    read: bool  # the stack reader read the request (its reading is the answer)


# ---- structures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class B:
    """One planned block: its kind and sizes (None where the request does not state them)."""

    kind: str  # input conv pool dense dropout flatten norm act lstm gru embedding attn ...
    a: int | None = None  # conv/pool kernel side, map side (input), units (dense/rnn/output)
    b: int | None = None  # conv filters, input channels
    out: int | None = None  # output map side (original style)
    text: str = ""  # a fixed name (attention, add & norm, ...)

    def canonical(self) -> str:
        k = self.kind
        if k == "input":
            if self.a is None:
                return self.text or "input"
            return f"input {self.a}x{self.a}" + (f"x{self.b}" if self.b else "")
        if k == "conv":
            name = f"conv {self.a}x{self.a}"
            return name + (
                f" @{self.out}x{self.out}" if self.out else f" {self.b}" if self.b else ""
            )
        if k == "pool":
            name = self.text or "max pool"
            name += f" {self.a}x{self.a}" if self.a else ""
            return name + (f" @{self.out}x{self.out}" if self.out else "")
        if k in ("dense", "output", "lstm", "gru", "embedding"):
            return f"{k} {self.a}" if self.a else k
        if k == "dropout":
            return f"dropout {self.text}"
        return self.text or k


def _cnn_original(rng: random.Random) -> list[B]:
    side = rng.choice((224, 128, 96, 64, 32, 28, 256, 150))
    plan = [B("input", side)]
    for _ in range(rng.choice((1, 2, 2, 3))):
        k = rng.choice((3, 3, 5))
        if side - k + 1 < 4:
            break
        side = side - k + 1
        plan.append(B("conv", k, out=side))
        if rng.random() < 0.8 and side >= 4:
            side //= 2
            plan.append(B("pool", 2, out=side))
    hidden = sorted(rng.sample((1024, 512, 256, 128, 64, 32), rng.choice((1, 2, 2))), reverse=True)
    plan += [B("dense", h) for h in hidden]
    plan.append(B("output", rng.choice((2, 2, 3, 5, 10, 1))))
    return plan


def _cnn_natural(rng: random.Random) -> list[B]:
    plan = []
    if rng.random() < 0.85:
        side = rng.choice((28, 32, 64, 96, 128, 224))
        plan.append(B("input", side, rng.choice((None, 3, 3, 1))))
    filters = rng.choice((16, 32, 32, 64))
    k = rng.choice((3, 3, 5))
    for _ in range(rng.choice((1, 2, 2, 3))):
        for _ in range(rng.choice((1, 1, 2))):
            plan.append(B("conv", k, filters))
            if rng.random() < 0.15:
                plan.append(B("norm", text="batch norm"))
            if rng.random() < 0.2:
                plan.append(B("act", text="relu"))
        if rng.random() < 0.8:
            pool = rng.choice(("max pool", "max pool", "avg pool"))
            plan.append(B("pool", rng.choice((None, 2)), text=pool))
        filters = min(filters * 2, 512)
    if rng.random() < 0.7:
        plan.append(B("flatten"))
    if rng.random() < 0.6:
        plan.append(B("dense", rng.choice((64, 128, 256, 512))))
    if rng.random() < 0.3:
        plan.append(B("dropout", text=rng.choice(("0.5", "0.25", "0.3"))))
    plan.append(B("output", rng.choice((10, 10, 2, 5, 100, 1))) if rng.random() < 0.7
                else B("dense", rng.choice((10, 2, 5))))  # fmt: skip
    if rng.random() < 0.2:
        plan.append(B("softmax"))
    return plan


def _rnn(rng: random.Random) -> list[B]:
    plan = []
    if rng.random() < 0.4:
        plan.append(
            B("input", text=rng.choice(("input", "input sequence", "tokens", "text input")))
        )
    if rng.random() < 0.75:
        plan.append(B("embedding", rng.choice((32, 64, 100, 128, 256, 300))))
    cell = rng.choice(("lstm", "lstm", "gru"))
    for _ in range(rng.choice((1, 1, 2, 2, 3))):
        plan.append(B(cell, rng.choice((32, 64, 128, 256))))
        if rng.random() < 0.25:
            plan.append(B("dropout", text=rng.choice(("0.2", "0.3", "0.5"))))
    if rng.random() < 0.4:
        plan.append(B("dense", rng.choice((16, 32, 64))))
    plan.append(B("dense", rng.choice((1, 2, 5, 10))) if rng.random() < 0.5
                else B("output", rng.choice((1, 2, 3, 10))))  # fmt: skip
    if rng.random() < 0.25:
        plan.append(B("softmax"))
    return plan


def _transformer(rng: random.Random) -> list[B]:
    plan = [B("embedding", rng.choice((None, 256, 512, 768)), text="embedding")]
    if rng.random() < 0.5:
        plan.append(B("pos", text="positional encoding"))
    attn = rng.choice(("multi-head attention", "self-attention", "masked multi-head attention"))
    for _ in range(rng.choice((1, 1, 2))):
        if rng.random() < 0.7:
            plan += [B("attn", text=attn), B("norm", text="add & norm")]
            plan += [B("ffn", text="feed forward"), B("norm", text="add & norm")]
        else:
            plan += [B("norm", text="layer norm"), B("attn", text=attn)]
            plan += [B("norm", text="layer norm"), B("ffn", text="feed forward")]
    if rng.random() < 0.6:
        plan.append(B("dense", rng.choice((None, 2, 10, 1000))))
    if rng.random() < 0.5:
        plan.append(B("softmax"))
    return plan


def _decoder(rng: random.Random) -> list[B]:
    side = rng.choice((7, 8, 16))
    plan = [B("input", text=rng.choice(("latent vector", "latent code", "noise vector")))]
    plan.append(B("dense", rng.choice((128, 256, 1024))))
    filters = rng.choice((64, 128))
    for _ in range(rng.choice((1, 2))):
        plan.append(B("upsample", 2))
        plan.append(B("conv", 3, filters))
        filters //= 2
        side *= 2
    plan.append(B("output", text="output image") if rng.random() < 0.5 else B("conv", 3, 1))
    return plan


FAMILIES = {  # family: (planner, names)
    "cnn_original": (_cnn_original, ("CNN", "convolutional neural network", "ConvNet",
                                     "image classifier", "convolutional network")),
    "cnn": (_cnn_natural, ("CNN", "convnet", "small CNN", "convolutional network",
                           "image classification model", "VGG-style network")),
    "rnn": (_rnn, ("LSTM model", "recurrent network", "sequence classifier", "RNN",
                   "text classifier", "sentiment model")),
    "transformer": (_transformer, ("transformer encoder", "transformer", "encoder stack",
                                   "transformer block", "BERT-like encoder")),
    "decoder": (_decoder, ("decoder", "generator network", "image decoder")),
}  # fmt: skip
FAMILY_WEIGHTS = (3, 4, 3, 2, 1)


# ---- saying a block -----------------------------------------------------------------------


def _say_original(b: B, w: Words) -> str:
    """The original project's register: "3 x 3 conv layer (output: 222 x 222)"."""
    x = w.pick((" x ", "x", " x "))
    out = f" (output: {b.out}{x}{b.out})" if b.out else ""
    if b.kind == "input":
        return w.pick(
            (f"{b.a}{x}{b.a} input", f"{b.a}{x}{b.a} input image", f"input of {b.a}{x}{b.a}")
        )
    if b.kind == "conv":
        return w.pick((f"{b.a}{x}{b.a} conv layer{out}", f"{b.a}{x}{b.a} convolutional layer{out}",
                       f"{b.a}{x}{b.a} convolution layer{out}"))  # fmt: skip
    if b.kind == "pool":
        k = f"{b.a}{x}{b.a}"
        return w.pick((f"{k} max pooling layer{out}", f"{k} max pool layer{out}",
                       f"{k} max-pooling layer{out}"))  # fmt: skip
    return _say(b, w)


def _say(b: B, w: Words) -> str:
    """A block in natural words (every size it states said once)."""
    k = b.kind
    if k == "input":
        if b.a is None:
            return b.text or "input"
        dims = f"{b.a}x{b.a}" + (f"x{b.b}" if b.b else "")
        options = [f"{dims} input", f"input {dims}", f"a {dims} input", f"input image {dims}"]
        if b.b:
            options.append(f"{dims} input image")
        return w.pick(options)
    if k == "conv":
        kk = f"{b.a}x{b.a}"
        if b.b is None:
            return w.pick((f"{kk} conv", f"conv {kk}", f"a {kk} convolution"))
        f = size(b.b, w)
        if b.b == 1:
            return w.pick((f"{kk} conv with 1 filter", f"conv {kk} 1"))
        return w.pick((f"{kk} conv with {f} filters", f"conv {kk} {b.b}",
                       f"a {kk} conv layer with {f} filters", f"conv {kk}, {f} filters",
                       f"{kk} convolution with {f} filters"))  # fmt: skip
    if k == "pool":
        name = b.text or "max pool"
        word = {
            "max pool": ("max pool", "max pooling", "maxpool", "max-pool"),
            "avg pool": ("avg pool", "average pooling", "avg pooling", "average pool"),
        }[name]
        said = w.pick(word)
        return f"{said} {b.a}x{b.a}" if b.a else said
    if k == "dense":
        if b.a is None:
            return w.pick(("linear layer", "dense layer", "linear"))
        n = size(b.a, w)
        units = "unit" if b.a == 1 else "units"
        return w.pick((f"dense {b.a}", f"a dense layer of {n}", f"dense layer with {n} {units}",
                       f"fully connected layer of {n}", f"fc {b.a}"))  # fmt: skip
    if k == "output":
        if b.a is None:
            return b.text or "output"
        n = size(b.a, w, 0.3)
        return w.pick((f"{n} outputs" if b.a > 1 else "1 output", f"output {b.a}", f"{n} classes"
                       if b.a > 1 else "output 1", f"an output layer of {n}"))  # fmt: skip
    if k in ("lstm", "gru"):
        n = size(b.a, w)
        name = k.upper()
        return w.pick((f"{k} {b.a}", f"{w.with_article(name)} with {n} units",
                       f"{name} layer of {n} units", f"{name} {b.a}"))  # fmt: skip
    if k == "embedding":
        if b.a is None:
            return w.pick(("embedding", "token embedding", "embedding layer"))
        n = size(b.a, w)
        return w.pick((f"embedding {b.a}", f"an embedding of size {n}", f"{b.a}-dim embedding",
                       f"embedding layer ({b.a})"))  # fmt: skip
    if k == "dropout":
        return w.pick((f"dropout {b.text}", f"dropout of {b.text}", f"dropout ({b.text})"))
    if k == "flatten":
        return w.pick(("flatten", "flatten", "a flatten layer"))
    if k == "softmax":
        return w.pick(("softmax", "a softmax"))
    return b.text or k


def _original_text(plan: list[B], name: str, w: Words) -> str:
    """The original project's register, with its hidden-layer and output phrasing."""
    dense = [b for b in plan if b.kind == "dense"]
    head = [b for b in plan if b.kind in ("input", "conv", "pool")]
    parts = [_say_original(b, w) for b in head]
    sizes = [str(b.a) for b in dense]
    if len(sizes) == 1:
        parts.append(
            w.pick((f"{sizes[0]} nodes in the hidden layer", f"a hidden layer of {sizes[0]} nodes"))
        )
    else:
        said = ", ".join(sizes[:-1]) + " and " + sizes[-1]
        parts.append(
            w.pick((f"{said} nodes in the hidden layers", f"hidden layers of {said} nodes"))
        )
    out = plan[-1].a
    parts.append(f"{out} output{'s' if out != 1 else ''}" if w.chance(0.7) else f"{out} classes"
                 if out > 1 else "1 output")  # fmt: skip
    sep = w.pick((", ", ", ", "; "))
    body = sep.join(parts)
    frame = w.pick((
        "{an} with {b}", "{b}", "{o} {an}: {b}", "{an} that has {b}", "{o} a {name} with a {b}",
        "{name} architecture: {b}", "{o} {an} that contains {b}",
    ))  # fmt: skip
    return frame.format(an=w.with_article(name), name=name, b=body, o=w.opener()).strip()


LISTED = (
    "{o} {an}: {L}", "{name}: {L}", "{name} architecture: {L}", "{o} the layers of {an}: {L}",
    "{L} ({name})", "{an} with {L}", "layers: {L}", "{o} {an} with these layers: {L}",
    "model: {L}", "{o} this {name}: {L}", "{name} layers: {L}", "{an} for my paper: {L}",
    "{o} {an} with {n} layers: {L}", "my {name} is {L}", "{o} a diagram of {an} - {L}",
    "{name}. {L}", "{L}",
)  # fmt: skip


def _repeat_runs(said: list[str], plan: list[B], w: Words) -> list[str]:
    """Merge runs of equal conv / rnn / dense blocks now and then: "two 3x3 conv layers with
    32 filters" (the reader expands a count before a layer)."""
    out: list[str] = []
    i = 0
    while i < len(plan):
        j = i
        while j + 1 < len(plan) and plan[j + 1] == plan[i]:
            j += 1
        b, n = plan[i], j - i + 1
        if n > 1 and b.kind == "conv" and b.b and w.chance(0.6):
            count = w.pick((number_word(n), str(n)))
            out.append(f"{count} {b.a}x{b.a} conv layers with {b.b} filters")
        elif n > 1 and b.kind in ("lstm", "gru") and w.chance(0.5):
            count = w.pick((number_word(n), str(n)))
            out.append(f"{count} {b.kind.upper()} layers of {b.a} units")
        else:
            out += said[i : j + 1]
        i = j + 1
    return out


def _natural_text(plan: list[B], name: str, w: Words) -> str:
    said = _repeat_runs([_say(b, w) for b in plan], plan, w)
    roll = w.rng.random()
    if roll < 0.55:
        listed = list_steps(said, w, inline=w.chance(0.7))
        frame = w.pick(LISTED)
        return frame.format(o=w.opener(), an=w.with_article(name), name=name, L=listed,
                            n=w.num(len(plan))).strip()  # fmt: skip
    if roll < 0.7:
        joined = w.pick((", then ", " followed by ", ", ", " then "))
        return f"{w.opener()} {w.with_article(name)} with {joined.join(said)}".strip()
    if roll < 0.82:
        return f"{w.with_article(name)} that takes {said[0]}, then {', '.join(said[1:])}"
    if roll < 0.92:
        middle = ", ".join(said[1:-1])
        return f"my {name} starts with {said[0]}, then {middle}, and ends with {said[-1]}"
    return f"{name}: " + " ".join(f"{i}) {s}" for i, s in enumerate(said, 1))


def _same(found: tuple[str, ...], plan: list[str]) -> bool:
    """The reader's blocks state the planned kinds in order, with the planned units."""
    if len(found) != len(plan):
        return False
    for f, p in zip(found, plan, strict=True):
        a, b = read_block(f), read_block(p)
        if a.kind != b.kind or a.units != b.units or a.kernel != b.kernel:
            return False
    return True


def layer_stack(w: Words) -> Stack:
    """A stack request and its planned (canonical) blocks; `reading` checks the final text."""
    family = w.rng.choices(tuple(FAMILIES), weights=FAMILY_WEIGHTS)[0]
    planner, names = FAMILIES[family]
    plan = planner(w.rng)
    name = w.pick(names)
    canonical = tuple(b.canonical() for b in plan)
    text = (
        _original_text(plan, name, w) if family == "cnn_original" else _natural_text(plan, name, w)
    )
    return Stack(canonical, text, family, False)


def reading(text: str, planned: tuple[str, ...], template: str) -> Stack | None:
    """The answer's blocks for the finished request: the stack reader's reading when it
    states the planned kinds and units, the planned blocks when it reads nothing and the
    request states every one of them; None when it reads something else (draw again)."""
    found = extract_spec(text)
    if found is not None and found.kind == "stack":
        return Stack(found.steps, text, template, True) if _same(found.steps, planned) else None
    if found is not None or template == "cnn_original":
        return None  # read as something else: a wrong hint would mislead
    if not all(_stated(c, text) for c in planned):
        return None
    return Stack(planned, text, template, False)


def _stated(block: str, text: str) -> bool:
    """Every word and number of a canonical block name appears in the request."""
    low = text.lower()
    return all(part.strip("@") in low for part in block.split() if part not in ("&",))
