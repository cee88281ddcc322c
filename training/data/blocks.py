"""Layer-block diagrams: a CNN, an RNN/LSTM, an auto-encoder or a transformer block, drawn as
a flow whose steps are blocks ("conv 3x3 32", "max pool", "lstm 64", "add & norm").

The request either lists the blocks verbatim or says them in prose; prose follows fixed
conventions ("a 3x3 conv with 32 filters" is the block "conv 3x3 32"), so every request
still determines its blocks exactly. A transformer block's residual connections are edges
that skip one block; the request mentions them whenever the answer draws them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from training.data.steps import list_steps
from training.data.wording import Words

IMAGE_INPUTS = ("input 28x28", "input 32x32x3", "input 64x64", "input 224x224x3", "image 96x96")


@dataclass(frozen=True)
class Blocks:
    steps: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]  # 0-based; () = the chain in order
    description: str
    template: str


def _say(block: str, w: Words) -> str:
    """A block in prose, by the conventions of the module docstring."""
    words = block.split()
    head, rest = words[0], words[1:]
    if head == "conv":
        return f"a {rest[0]} conv with {rest[1]} filters"
    if head == "deconv":
        return f"a {rest[0]} transposed conv with {rest[1]} filters"
    if head in ("lstm", "gru") or block.startswith("simple rnn"):
        name = "simple RNN" if head == "simple" else head.upper()
        return f"{w.with_article(name)} layer with {rest[-1]} units"
    if block.startswith("bidirectional lstm"):
        return f"a bidirectional LSTM with {rest[-1]} units"
    if head == "dense":
        return f"a dense layer of {rest[0]}"
    if head == "dropout":
        return f"dropout {rest[0]}"
    if head == "embedding":
        return f"an embedding of size {rest[0]}"
    if head == "latent":
        return f"a latent code of {rest[0]}"
    if head in ("input", "image", "output"):
        return f"{head} {' '.join(rest)}" if rest else head
    return block  # max pool, flatten, relu, batch norm, softmax ...


OPTIONAL = ("relu", "batch norm", "softmax", "sigmoid")  # dropped first when a model runs long
MAX_BLOCKS = 9


def _fit(steps: list[str]) -> list[str]:
    """At most MAX_BLOCKS blocks: drop optional ones (activations, norms, dropout) from the end."""
    while len(steps) > MAX_BLOCKS:
        extra = [i for i, s in enumerate(steps) if s in OPTIONAL or s.startswith("dropout")]
        del steps[extra[-1] if extra else -2]
    return steps


def cnn(rng: random.Random) -> tuple[list[str], str]:
    steps = [rng.choice(IMAGE_INPUTS)]
    kernel = rng.choice(("3x3", "3x3", "5x5"))
    filters = rng.choice((8, 16, 32))
    for _ in range(rng.choice((1, 2, 2, 3))):
        steps.append(f"conv {kernel} {filters}")
        if rng.random() < 0.25:
            steps.append("relu")
        if rng.random() < 0.15:
            steps.append("batch norm")
        if rng.random() < 0.75:
            steps.append(rng.choice(("max pool", "max pool", "avg pool")))
        filters *= 2
    steps.append(rng.choice(("flatten", "flatten", "global avg pool")))
    if rng.random() < 0.4:
        steps.append(f"dense {rng.choice((64, 128, 256))}")
    if rng.random() < 0.25:
        steps.append("dropout 0.5")
    steps.append(f"dense {rng.choice((10, 10, 2, 5, 100))}")
    if rng.random() < 0.3:
        steps.append("softmax")
    name = rng.choice(
        ("CNN", "convnet", "convolutional network", "ConvNet", "image classifier CNN")
    )
    return _fit(steps), name


def rnn(rng: random.Random) -> tuple[list[str], str]:
    steps = [rng.choice(("input sequence", "text input", "tokens", "time series"))]
    if steps[0] != "time series" and rng.random() < 0.8:
        steps.append(f"embedding {rng.choice((32, 64, 128, 300))}")
    cell = rng.choice(("lstm", "lstm", "gru", "simple rnn", "bidirectional lstm"))
    units = rng.choice((32, 64, 128, 256))
    for _ in range(rng.choice((1, 1, 2, 3))):
        steps.append(f"{cell} {units}")
        if rng.random() < 0.3:
            steps.append(f"dropout {rng.choice(('0.2', '0.3', '0.5'))}")
    if rng.random() < 0.4:
        steps.append(f"dense {rng.choice((16, 32, 64))}")
    steps.append(f"dense {rng.choice((1, 2, 5, 10))}")
    if rng.random() < 0.3:
        steps.append(rng.choice(("softmax", "sigmoid")))
    name = {"lstm": "LSTM", "gru": "GRU", "simple rnn": "RNN", "bidirectional lstm": "BiLSTM"}[cell]
    return _fit(steps), rng.choice((name, f"{name} model", f"{name} network", "recurrent network"))


def autoencoder(rng: random.Random) -> tuple[list[str], str]:
    if rng.random() < 0.6:
        size = rng.choice((784, 1024, 64, 100))
        widths = sorted(rng.sample((512, 256, 128, 64, 32), rng.choice((1, 2))), reverse=True)
        widths = [x for x in widths if x < size] or [size // 2]
        latent = rng.choice((2, 8, 16, 32))
        inner = [f"dense {x}" for x in widths]
        steps = [f"input {size}", *inner, f"latent {latent}", *inner[::-1], f"output {size}"]
    else:
        image = rng.choice(("28x28", "64x64", "32x32x3"))
        filters = [rng.choice((16, 32)), rng.choice((8, 16))]
        steps = [f"input {image}", *(f"conv 3x3 {f}" for f in filters)]
        steps += [f"latent {rng.choice((16, 32, 64))}"]
        steps += [*(f"deconv 3x3 {f}" for f in filters[::-1]), f"output {image}"]
    return steps, rng.choice(("autoencoder", "auto-encoder", "AE", "autoencoder network"))


def transformer(rng: random.Random) -> tuple[list[str], str, tuple[tuple[int, int], ...]]:
    """An encoder block, post-norm or pre-norm; residual skips around attention and MLP."""
    head = [rng.choice(("input embeddings", "token embeddings", "inputs"))]
    if rng.random() < 0.5:
        head.append("positional encoding")
    attention = rng.choice(("multi-head attention", "self-attention", "masked self-attention"))
    mlp = rng.choice(("feed forward", "mlp", "feed-forward network"))
    if rng.random() < 0.7:  # post-norm: x -> attn -> add & norm -> ffn -> add & norm
        body = [attention, "add & norm", mlp, "add & norm"]
    else:  # pre-norm: x -> norm -> attn -> add -> norm -> ffn -> add
        body = ["layer norm", attention, "add", "layer norm", mlp, "add"]
    tail = [rng.choice(("output", "linear", "next block"))] if rng.random() < 0.6 else []
    steps = [*head, *body, *tail]
    s = len(head) - 1  # the step whose output the first residual carries
    if body[0] == "layer norm":
        skips = ((s, s + 3), (s + 3, s + 6))
    else:
        skips = ((s, s + 2), (s + 2, s + 4))
    chain = tuple((i, i + 1) for i in range(len(steps) - 1))
    return (
        steps,
        rng.choice(("transformer block", "transformer encoder block", "encoder layer")),
        chain + skips,
    )


def _said(steps: list[str], w: Words) -> list[str]:
    return [_say(s, w) for s in steps]


def _prose_generic(steps: list[str], name: str, w: Words) -> str:
    joiner = w.pick((", then ", ", ", " followed by ", " -> "))
    return f"{w.opener()} {w.with_article(name)} with {joiner.join(_said(steps, w))}"


def _prose_takes(steps: list[str], name: str, w: Words) -> str:
    said = _said(steps[1:], w)
    return f"{w.with_article(name)} that takes {steps[0]} and has {w.join(said)}, in that order"


def _prose_layers(steps: list[str], name: str, w: Words) -> str:
    return f"{name} architecture, layer by layer: {'; '.join(_said(steps, w))}"


def _prose_starts(steps: list[str], name: str, w: Words) -> str:
    said = _said(steps, w)
    middle = ", then ".join(said[1:-1])
    return f"my {name} starts with {said[0]}, then {middle}, and ends with {said[-1]}"


def _prose_sentences(steps: list[str], name: str, w: Words) -> str:
    said = _said(steps, w)
    parts = [f"The {w.ordinal(i + 1)} block is {s}." for i, s in enumerate(said[:-1])]
    parts.append(f"The last block is {said[-1]}.")
    return f"{w.opener()} {w.with_article(name)}. {' '.join(parts)}"


def _prose_goes_into(steps: list[str], name: str, w: Words) -> str:
    said = _said(steps, w)
    return f"{w.with_article(name)} where {said[0]} goes into " + " which goes into ".join(said[1:])


def _prose_teaching(steps: list[str], name: str, w: Words) -> str:
    said = _said(steps, w)
    return (
        f"I'm explaining {w.with_article(name)} to {w.pick(('students', 'my team', 'a friend'))}. "
        f"Can you draw one with {w.join(said)}?"
    )


def _prose_numbered(steps: list[str], name: str, w: Words) -> str:
    said = _said(steps, w)
    return f"{name}: " + " ".join(f"({i}) {s}" for i, s in enumerate(said, 1))


PROSE = (
    _prose_generic, _prose_takes, _prose_layers, _prose_starts, _prose_sentences,
    _prose_goes_into, _prose_teaching, _prose_numbered,
)  # fmt: skip
LISTED = (
    "{o} {an}: {L}",
    "{name}: {L}",
    "{name} architecture: {L}",
    "{o} the layers of {an}: {L}",
    "{L} ({name})",
    "block diagram of {an}: {L}",
    "{o} {an} diagram with {n} blocks: {L}",
    "{an} with these layers: {L}",
    "layers of my {name}: {L}. can you draw it",
    "{o} a simple {name}. layers: {L}",
    "model: {L}",
    "{o} this {name}: {L}",
    "{o} {an} block diagram: {L}",
    "{name} layers: {L}",
    "here is my {name}: {L}. please make a diagram",
    "{o} a picture of this {name} - {L}",
    "{an} for my paper: {L}",
    "the {name} we use: {L}",
    "{o} {an} with {n} layers: {L}",
    "{L}. that's {an}, draw it",
    "architecture diagram: {L}",
    "{o} the {name} as blocks: {L}",
    "{o} {an} (layers: {L})",
    "network blocks: {L}",
)
RESIDUAL = (
    " with residual connections around the attention and the {mlp}",
    ", plus skip connections around {attn} and {mlp}",
    " (residual connections skip over {attn} and over {mlp})",
    ", with the usual residuals around attention and the {mlp}",
)


def layer_blocks(w: Words) -> Blocks:
    """One block diagram and a request for it."""
    kind = w.pick(("cnn", "cnn", "rnn", "autoencoder", "transformer"))
    edges: tuple[tuple[int, int], ...] = ()
    if kind == "transformer":
        steps, name, edges = transformer(w.rng)
    else:
        steps, name = {"cnn": cnn, "rnn": rnn, "autoencoder": autoencoder}[kind](w.rng)
    if w.chance(0.35):
        prose = w.pick(PROSE)
        text, template = prose(steps, name, w), f"{kind}_{prose.__name__}"
    else:
        frame = w.pick(LISTED)
        listed = list_steps(steps, w, inline=True)
        text = frame.format(
            o=w.opener(), an=w.with_article(name), name=name, L=listed, n=w.num(len(steps))
        )
        template = f"{kind}_listed"
    if edges:
        attn = next(s for s in steps if "attention" in s)
        mlp = next(s for s in steps if s in ("feed forward", "mlp", "feed-forward network"))
        text += w.pick(RESIDUAL).format(attn=attn, mlp=mlp)
    return Blocks(tuple(steps), edges, text, template)
