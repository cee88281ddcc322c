"""What taste reads in a diagram, taken from its node list instead of guessed from pixels.

The engine draws every candidate from a Diagram, so the attributes people's taste depends
on are known exactly before any pixel exists. This descriptor reads them from the nodes, in
blocks (BLOCKS) that knn.py compares one at a time (and weighs per user), next to the
auto-encoder embedding's blocks that only the picture has (combine(), IMAGE_KEPT):

- kind (3): network / layer stack / flow, one-hot (kind_of()).
- shapes (3): share of nodes drawn as circle, round rectangle, rectangle (the renderer draws
  unknown shapes as rectangles).
- lightness (1), chroma (1), hue (2): the most common node fill in CIE LCh (from CIELAB,
  D65): L*/100, C*/100, and the hue angle h as (cos h, sin h) * C*/(C* + 3), so that a grey
  has no hue and a pastel nearly the full one. Three blocks, not one: a pastel, a saturated
  and a dark fill of one hue differ in L* and C* only, and inside one colour block (0.055
  apart: half the kNN bandwidth) nobody's taste for them could be learnt.
- lines (3): share of edges drawn as solid arrow, solid line, dashed line (by the source
  node's style, as the renderer draws them; unknown styles are plain lines).
- line lightness (1), line hue (2): the most common node line colour, as the fill's:
  pale grey lines far from black ones, whatever their hue.
- labels (3): share of nodes with a label, the text scale the renderer draws them at (one
  for the whole diagram: the smallest any fitting label needs) and the share of labels
  that fit their node (label_fit.fit_label).
- size (2): log median node box area and log share of the canvas the nodes' bounding box
  spans (canvas use), both standardised.
- density (2): log share of the canvas covered by node boxes and log node count,
  standardised.
- flow (2): the mean unit vector of the edges, source to target: (1, 0) left to right,
  (0, 1) top to bottom.
- kind x shape (9), kind x colour (9), kind x style (6), kind x flow (6): the kind's
  one-hot times (shapes), (L*, C*, line L*), (dashed share, labelled share) and (flow):
  in such a block two diagrams of different kinds are always apart and two of one kind as
  far apart as their attributes, so "circles for networks, rectangles for flows" is a
  function of one block that the kNN can learn, where shapes alone averages the two kinds
  away. The direction has a block of its own ("top-down flows, left-right networks"):
  beside the dashes and labels, a diagram's neighbours in it were as often of the other
  direction as of its own.

Each block is divided by SCALES, its root-mean-square distance between two random synthetic
diagrams (training/data's generator; fit_scales() recomputes them and the standardisation
constants), so that in combine() every block, image or content, contributes about the same
distance between random diagrams.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import cv2
import numpy as np

from engine.diagram.label_fit import fit_label
from engine.diagram.model import CANVAS_H, CANVAS_W, Diagram, Node
from engine.scoring.autoencoder import BLOCKS as IMAGE

KINDS = ("network", "stack", "flow")
SHAPES = ("circle", "round rectangle", "rectangle")
LINE_STYLES = ("solid arrow", "solid line", "dashed line")
_SIZES = {
    "kind": 3, "shapes": 3, "lightness": 1, "chroma": 1, "hue": 2, "lines": 3,
    "line lightness": 1, "line hue": 2, "labels": 3, "size": 2, "density": 2, "flow": 2,
    "kind x shape": 9, "kind x colour": 9, "kind x style": 6, "kind x flow": 6,
}  # fmt: skip
_STOPS = np.cumsum([0, *_SIZES.values()])
BLOCKS = {
    name: slice(int(a), int(b)) for name, a, b in zip(_SIZES, _STOPS[:-1], _STOPS[1:], strict=True)
}
SIZE = int(_STOPS[-1])
# The auto-encoder embedding's blocks that the node list cannot state (autoencoder.BLOCKS
# names): the latent (where the ink is) and the picture's layout statistics. Its fill,
# stroke, shape, dashes, coverage and direction descriptors estimate from pixels what the
# blocks above read exactly; they stay in the vector (its width is the embedder's plus
# SIZE) but in no block, so the kNN never looks at them.
IMAGE_KEPT = ("latent", "layout")
# Standardisation (mean, sd) of the log values: fit_scales(sample_diagrams(2000, seed=0)).
STANDARD = {
    "node area": (-4.55, 1.21), "canvas use": (-1.04, 0.54),
    "coverage": (-2.3, 0.76), "nodes": (2.23, 0.63),
}  # fmt: skip
SCALES = {
    "kind": 1.14, "shapes": 1.12, "lightness": 0.28, "chroma": 0.33, "hue": 1.15,
    "lines": 1.06, "labels": 0.87, "size": 1.99, "density": 1.99,
    "flow": 0.73, "kind x shape": 1.28, "kind x colour": 1.07, "kind x style": 1.21,
    "kind x flow": 0.89,
}  # fmt: skip
# Line colours on the fill's scales: the generator's lines are nearly all dark, and their own
# spread (0.18 for the lightness) would put black and dark grey lines 5 bandwidths apart.
TIED = {"line lightness": "lightness", "line hue": "hue"}
SCALES |= {name: SCALES[same] for name, same in TIED.items()}
LAYER_WORDS = re.compile(
    r"\b(conv\w*|deconv\w*|pool\w*|dense|linear|fc|relu|gelu|tanh|sigmoid|softmax|norm\w*|"
    r"batch ?norm|layer ?norm|dropout|embed\w*|attention|self-attention|lstm|gru|rnn|"
    r"transformer|encoder|decoder|flatten|input|output|latent|residual|upsampl\w*|mlp|"
    r"bottleneck|logits|tokens?|patch\w*|\d+x\d+|\d+)\b",
    re.IGNORECASE,
)
HUE_GREY = 3.0  # C* at which a colour's hue counts half: greys have none, pastels have it
STACK_SHARE = 0.5  # a non-network whose labels are at least this share layer words: a stack


def describe(diagram: Diagram) -> np.ndarray:
    """A Diagram -> SIZE float32 values, unscaled but for the standardised logs."""
    nodes = [n for n in diagram.nodes if n.width > 0 and n.height > 0]
    if not nodes:
        return np.zeros(SIZE, np.float32)
    edges = diagram.edges()
    kind = np.array([k == kind_of(diagram) for k in KINDS], np.float64)
    shapes = Counter(n.shape if n.shape in SHAPES else "rectangle" for n in nodes)
    shares = np.array([shapes[s] / len(nodes) for s in SHAPES])
    lines = Counter(a.line_style if a.line_style in LINE_STYLES else "solid line" for a, _ in edges)
    styles = np.array([lines[s] / max(len(edges), 1) for s in LINE_STYLES])
    light, chroma, hue = lch(np.array(_common(n.fill for n in nodes), np.float64))
    line_light, _, line_hue = lch(np.array(_common(n.line_color for n in nodes), np.float64))
    labels = _labels(nodes)
    flow = _flow(edges)
    parts = {
        "kind": kind,
        "shapes": shares,
        "lightness": [light],
        "chroma": [chroma],
        "hue": hue,
        "lines": styles,
        "line lightness": [line_light],
        "line hue": line_hue,
        "labels": labels,
        "size": _size(nodes),
        "density": _density(nodes),
        "flow": flow,
        "kind x shape": np.outer(kind, shares).ravel(),
        "kind x colour": np.outer(kind, [light, chroma, line_light]).ravel(),
        "kind x style": np.outer(kind, [styles[2], labels[0]]).ravel(),
        "kind x flow": np.outer(kind, flow).ravel(),
    }
    return np.concatenate([np.asarray(parts[name], np.float64) for name in BLOCKS]).astype(
        np.float32
    )


def kind_of(diagram: Diagram) -> str:
    """The kind: "network" when the edges join consecutive layers completely (every node of a layer
    to every node of the next, nothing else) and some layer's labels repeat: a multi-layer
    perceptron, collapsed layers' markers included; else "stack" when most labels name
    layers (conv, dense, 3x3, 128, ...; a chain of layer blocks), else "flow"."""
    if _full_layers(diagram):
        return "network"
    named = [n.label for n in diagram.nodes if n.label.strip()]
    layered = sum(bool(LAYER_WORDS.search(label)) for label in named)
    return "stack" if named and layered >= STACK_SHARE * len(named) else "flow"


def lch(rgb: np.ndarray) -> tuple[float, float, np.ndarray]:
    """CIE L*/100, C*/100 and the hue direction (cos h, sin h) * C*/(C* + HUE_GREY) of an
    sRGB colour."""
    pixel = np.clip(rgb, 0, 255).astype(np.float32).reshape(1, 1, 3) / 255.0
    l_star, a, b = cv2.cvtColor(pixel, cv2.COLOR_RGB2Lab)[0, 0].astype(np.float64)
    c = float(np.hypot(a, b))
    hue = np.array([a, b]) / (c + HUE_GREY)  # = (cos h, sin h) * C/(C + HUE_GREY)
    return l_star / 100.0, c / 100.0, hue


def combine(
    image: np.ndarray, image_blocks: Sequence[slice], diagrams: Sequence[Diagram]
) -> np.ndarray:
    """The taste embedding: image embeddings (autoencoder.Embedder.embed, N x D) followed by
    the content blocks of the same diagrams, every block in use weighing the same (see
    blocks(): of the image, only IMAGE_KEPT)."""
    image = np.atleast_2d(np.asarray(image, np.float32))
    if len(image) != len(diagrams):
        raise ValueError(f"{len(image)} image embeddings but {len(diagrams)} diagrams")
    total = len(_kept(image_blocks)) + len(BLOCKS)
    parts = [image * np.sqrt(len(image_blocks) / total)]  # each image block: 1/sqrt(total)
    raw = np.stack([describe(d) for d in diagrams]) if diagrams else np.zeros((0, SIZE))
    for name, s in BLOCKS.items():
        parts.append(raw[:, s] / (SCALES[name] * np.sqrt(total)))
    return np.concatenate(parts, axis=1).astype(np.float32)


def blocks(image_blocks: Sequence[slice]) -> tuple[slice, ...]:
    """Where each block the kNN uses lies in combine()'s vectors: the image blocks kept
    (IMAGE_KEPT), then BLOCKS."""
    start = max(s.stop for s in image_blocks)
    content = (slice(s.start + start, s.stop + start) for s in BLOCKS.values())
    return (*_kept(image_blocks), *content)


def block_names(image_blocks: Sequence[slice]) -> tuple[str, ...]:
    """The names of blocks()'s blocks, in the same order (image ones by autoencoder.BLOCKS
    when the embedder has those, else by number)."""
    if len(image_blocks) != len(IMAGE):
        return (*map(str, range(len(image_blocks))), *BLOCKS)
    return (*(name for name in IMAGE if name in IMAGE_KEPT), *BLOCKS)


def _kept(image_blocks: Sequence[slice]) -> tuple[slice, ...]:
    """The image blocks named in IMAGE_KEPT (all of them for an embedding of other blocks,
    e.g. an image-only or a test embedder)."""
    if len(image_blocks) != len(IMAGE):
        return tuple(image_blocks)
    return tuple(s for s, name in zip(image_blocks, IMAGE, strict=True) if name in IMAGE_KEPT)


def _common(values: object) -> tuple:
    return Counter(tuple(v) for v in values).most_common(1)[0][0]  # type: ignore[attr-defined]


def _full_layers(diagram: Diagram) -> bool:
    """Whether the edges form complete bipartite links between consecutive layers, one of
    two or more nodes whose labels repeat (units: "h", "h", ... or none; the steps of a flow
    that forks and joins again are all named apart)."""
    ids = diagram.by_id()
    targets = {i: {t for t in n.targets if t in ids and t != i} for i, n in ids.items()}
    sources = {i for ts in targets.values() for i in ts}
    layer = sorted(i for i in ids if i not in sources)
    seen: set[int] = set()
    units = False
    while layer:
        if seen & set(layer):
            return False  # a cycle or an edge that skips a layer
        seen |= set(layer)
        labels = [ids[i].label.strip() for i in layer]
        units = units or len(set(labels)) < len(labels)
        following = targets[layer[0]]
        if any(targets[i] != following for i in layer):
            return False
        layer = sorted(following)
    return units and len(seen) == len(ids)


def _labels(nodes: Sequence[Node]) -> np.ndarray:
    """Share labelled, drawn text scale (0 without labels), share of labels that fit."""
    labelled = [n for n in nodes if n.label.strip()]
    if not labelled:
        return np.zeros(3)
    fits = [fit_label(n.label, n.width, n.height, n.shape) for n in labelled]
    fitting = [f.scale for f in fits if f.fits and f.lines]
    scale = min(fitting) if fitting else min(f.scale for f in fits)
    return np.array([len(labelled) / len(nodes), scale, len(fitting) / len(labelled)])


def _standard(value: float, name: str) -> float:
    mean, sd = STANDARD[name]
    return (value - mean) / sd


def _size(nodes: Sequence[Node]) -> np.ndarray:
    """Standardised log median node area and log canvas share of the nodes' bounding box."""
    canvas = CANVAS_W * CANVAS_H
    area = float(np.median([n.width * n.height for n in nodes])) / canvas
    x0 = min(n.x - n.width / 2 for n in nodes)
    x1 = max(n.x + n.width / 2 for n in nodes)
    y0 = min(n.y - n.height / 2 for n in nodes)
    y1 = max(n.y + n.height / 2 for n in nodes)
    span = min(x1 - x0, CANVAS_W) * min(y1 - y0, CANVAS_H) / canvas
    return np.array(
        [
            _standard(np.log(area + 1e-5), "node area"),
            _standard(np.log(span + 1e-3), "canvas use"),
        ]
    )


def _density(nodes: Sequence[Node]) -> np.ndarray:
    """Standardised log share of the canvas covered by node boxes, and log node count."""
    covered = sum(n.width * n.height for n in nodes) / (CANVAS_W * CANVAS_H)
    return np.array(
        [
            _standard(np.log(covered + 1e-3), "coverage"),
            _standard(np.log(len(nodes)), "nodes"),
        ]
    )


def _flow(edges: Sequence[tuple[Node, Node]]) -> np.ndarray:
    flow = np.zeros(2)
    for a, b in edges:
        step = np.array([b.x - a.x, b.y - a.y], np.float64)
        flow += step / max(float(np.hypot(*step)), 1e-9)
    return flow / max(len(edges), 1)


def fit_scales(diagrams: Sequence[Diagram], seed: int = 0) -> dict:
    """STANDARD and SCALES for a set of diagrams (how the constants above were made, but for
    the TIED ones; tests check they still hold for the generator)."""
    rng = np.random.default_rng(seed)
    raw = np.stack([describe(d) for d in diagrams]).astype(np.float64)
    standard = {}
    for block, names in (("size", ("node area", "canvas use")), ("density", ("coverage", "nodes"))):
        for k, name in enumerate(names):
            column = BLOCKS[block].start + k
            mean, sd = STANDARD[name]
            value = raw[:, column] * sd + mean  # undo the constants
            standard[name] = (float(value.mean()), float(value.std()))
            raw[:, column] = (value - value.mean()) / value.std()
    a, b = rng.integers(0, len(raw), (2, 8 * len(raw)))
    scales = {
        name: float(np.sqrt(((raw[a, s] - raw[b, s]) ** 2).sum(axis=1).mean()))
        for name, s in BLOCKS.items()
    }
    return {"standard": standard, "scales": scales}
