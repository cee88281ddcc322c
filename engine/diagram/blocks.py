"""Typed blocks of a layer stack: what a block name says, and how big it is drawn.

A block is written as its kind and its sizes, in the words of the field (docs/sketch.md):
`input 224x224x3`, `conv 3x3 64`, `conv 3x3 @222x222`, `max pool 2x2`, `dense 256`,
`output 10`, `lstm 128`, `batch norm`, `add`. `read_block` finds the kind from the first
words that name one (synonyms: `fc`, `linear`, `bn`, `deconv`, ...) and the sizes from the
numbers: `AxB[xC]` is a kernel (conv, pool, upsample) or a feature map (input, and after `@`
for any block); a plain number is filters (conv) or units (dense, output, embedding, rnn).
Shorthand names its kind too: `c3x3-32` (conv), `mp2` / `gap` (pool), `do0.3`, `flat`,
`fc256` (but `fc1` is a layer's name, a step). A name that names no kind is a plain step
(kind "step"): drawn as a flow box.

Drawing (`tensor_sizes`): the tensor flows along the stack. A map block's height grows with
its feature map's side (log scale), a vector block's with its units, each with a floor so a
1x1 map or a 2-unit output stays visible, and both on one scale so a 256-unit dense layer is
taller than a 5-unit one and a 64x64 map taller than a 16x16 one. Sizes that a block does
not state are carried from the block before it (a conv keeps the map, a pool divides it by
its kernel, an upsample multiplies it), for the drawing only: labels show what was written.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from engine.diagram.model import RGB

# kind: (synonyms as regex alternatives, fill). Order matters: the first kind whose words
# appear earliest in the name wins, and longer phrases are listed before their parts.
KINDS: dict[str, tuple[str, RGB]] = {
    "upsample": (
        r"transposed conv\w*|deconv\w*|up-?conv\w*|upsampl\w*|up-?sample|unpool\w*",
        (179, 229, 252),
    ),
    "attention": (
        r"(?:multi-?head |masked |self-?|cross-?)*attention|mha", (248, 187, 208)
    ),
    # not "convergence": conv, convs, conv2d, convolution(al), convnet
    # shorthand too: "c3x3-32", "mp2", "gap", "do0.3", "flat", "fc512" (a kind in few letters)
    "conv": (r"conv(?:[123]d|olution(?:al)?s?|s|net|nets|layers?)?|c\d+x\d+", (187, 222, 251)),
    "pool": (
        r"(?:global )?(?:max|avg|average|mean)[ -]?pool\w*|pool\w*|[ma]p\d|gap|gmp",
        (255, 205, 210),
    ),
    "norm": (r"(?:batch|layer|group|instance) ?norm\w*|batchnorm|bn|norm\w*", (255, 224, 178)),
    "activation": (
        r"relu|gelu|leaky relu|sigmoid|tanh|silu|swish|elu|activation", (240, 244, 195)
    ),
    "dropout": (r"dropout|do\d*\.\d+", (238, 238, 238)),
    "flatten": (r"flatten\w*|flat", (215, 204, 200)),
    "embedding": (r"embed\w*", (178, 235, 242)),
    "rnn": (r"lstm\w*|gru\w*|rnn\w*|bi-?lstm", (197, 202, 233)),
    "merge": (r"add|concat\w*|sum|\+|⊕", (255, 255, 255)),
    "softmax": (r"softmax", (225, 190, 231)),
    "dense": (
        r"dense(?:\d\d+)?|fc(?:\d\d+)?|fully[ -]connected|linear|feed[ -]?forward|ffn|mlp|hidden",
        (200, 230, 201),
    ),
    "input": (r"inputs?|image|img", (255, 243, 205)),
    "output": (r"outputs?|logits|classes|classifier", (225, 190, 231)),
}
MAP_KINDS = {"input", "conv", "pool", "upsample"}
VECTOR_KINDS = {"dense", "output", "embedding", "rnn", "softmax", "flatten"}
UNIT_KINDS = {"conv", "upsample", "dense", "output", "embedding", "rnn", "softmax"}
_KIND_RES = {k: re.compile(rf"(?<![\w-])(?:{words})(?![\w])") for k, (words, _) in KINDS.items()}
_DIMS = re.compile(r"(@\s*)?(\d+)\s*[x×*]\s*(\d+)(?:\s*[x×*]\s*(\d+))?")
_NUMBER = re.compile(r"(?<![\w.])(\d+)(?![\w.])")


@dataclass(frozen=True)
class Block:
    """A block name read: its kind, and the sizes it states (None where it states none).

    map: the feature map (height, width, channels or None); kernel: (h, w);
    units: filters of a conv, units of a dense / output / embedding / rnn block.
    """

    name: str
    kind: str
    map: tuple[int, int, int | None] | None = None
    kernel: tuple[int, int] | None = None
    units: int | None = None

    @property
    def fill(self) -> RGB:
        return KINDS[self.kind][1] if self.kind in KINDS else (255, 255, 255)


def kind_of(name: str) -> str:
    """The block kind a name states ("step" when it names none)."""
    text = name.lower()
    found = [
        (m.start(), i, k)
        for i, (k, r) in enumerate(_KIND_RES.items())
        if (m := r.search(text))
    ]
    return min(found)[2] if found else "step"


def read_block(name: str) -> Block:
    """What a block name states (see the module docstring)."""
    kind = kind_of(name)
    text = name.lower()
    map_: tuple[int, int, int | None] | None = None
    kernel = None
    for m in _DIMS.finditer(text):
        dims = (int(m.group(2)), int(m.group(3)), int(m.group(4)) if m.group(4) else None)
        if m.group(1) or kind == "input" or (kind not in MAP_KINDS and dims[0] > 7):
            map_ = map_ or dims
        elif kernel is None:
            kernel = dims[:2]
    rest = _DIMS.sub(" ", text)
    numbers = [int(n) for n in _NUMBER.findall(rest)]
    counted = kind in UNIT_KINDS or (kind == "input" and map_ is None)
    units = numbers[0] if numbers and counted else None
    return Block(name, kind, map_, kernel, units)


def label(name: str) -> str:
    """The text drawn for a block: its name without a trailing repeat ("#2")."""
    return re.sub(r"\s*#\d+\s*$", "", name).strip()


# Drawn size of a block, in px at scale 1 along the cross axis (how "tall" it is).
FLOOR, CEIL = 56.0, 220.0  # a 1x1 map or a 1-unit layer / the biggest tensor of the stack
VECTOR_CEIL = 180.0  # vectors a little shorter: they read as bars beside maps
OP_SIZE = 56.0  # blocks without a tensor of their own (norm, activation, add, ...)


@dataclass(frozen=True)
class Tensor:
    """What flows out of a block, for drawing: a map side (h) and channels, or units."""

    side: int | None = None
    channels: int | None = None
    units: int | None = None

    @property
    def magnitude(self) -> float | None:
        """The one number drawn: a map's side or a vector's units."""
        return float(self.side) if self.side else float(self.units) if self.units else None


def _after(block: Block, before: Tensor) -> Tensor:
    """The tensor a block puts out, given the one it takes in (sizes it states win)."""
    if block.map is not None:
        return Tensor(side=block.map[0], channels=block.map[2] or block.units or before.channels)
    k = block.kernel[0] if block.kernel else 2
    if block.kind == "input":
        return Tensor(units=block.units) if block.units else before
    if block.kind == "conv":
        return Tensor(side=before.side, channels=block.units or before.channels)
    if block.kind == "pool":
        side = max(1, before.side // max(1, k)) if before.side else None
        return Tensor(side=side, channels=before.channels)
    if block.kind == "upsample":
        side = before.side * max(1, k) if before.side else None
        return Tensor(side=side, channels=block.units or before.channels)
    if block.kind == "flatten" and before.side:
        return Tensor(units=before.side * before.side * (before.channels or 1))
    if block.kind in VECTOR_KINDS and block.units:
        return Tensor(units=block.units)
    return before


def tensors(blocks: Sequence[Block], inputs: Sequence[Sequence[int]]) -> list[Tensor]:
    """The tensor out of each block; inputs[i]: the blocks feeding block i (the first counts)."""
    out: list[Tensor] = []
    for i, block in enumerate(blocks):
        feeding = [j for j in inputs[i] if j < i]
        out.append(_after(block, out[feeding[0]] if feeding else Tensor()))
    return out


def cross_sizes(blocks: Sequence[Block], inputs: Sequence[Sequence[int]]) -> list[float]:
    """How tall each block is drawn (px at scale 1): monotone in its tensor, FLOOR..CEIL.

    Maps by log2 of their side, vectors by log2 of their units, each on its own scale (the
    largest map gets CEIL, the largest vector VECTOR_CEIL; a side or a count of 1 gets
    FLOOR): a map's side and a vector's length are not one quantity. Blocks without a tensor
    of their own, and every block of a stack without sizes, get OP_SIZE."""
    flowing = tensors(blocks, inputs)
    kinds = [
        ("map" if t.side else "vector") if b.kind in MAP_KINDS | VECTOR_KINDS else None
        for b, t in zip(blocks, flowing, strict=True)
    ]
    top = {"map": 0.0, "vector": 0.0}
    for kind, t in zip(kinds, flowing, strict=True):
        if kind and t.magnitude:
            top[kind] = max(top[kind], math.log2(t.magnitude))
    ceil = {"map": CEIL, "vector": VECTOR_CEIL}
    out = []
    for kind, t in zip(kinds, flowing, strict=True):
        if kind is None or not t.magnitude or top[kind] <= 0:
            out.append(OP_SIZE)
        else:
            out.append(FLOOR + (ceil[kind] - FLOOR) * math.log2(t.magnitude) / top[kind])
    return out
