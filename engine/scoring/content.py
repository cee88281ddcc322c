"""What taste reads in a diagram, taken from its node list instead of guessed from pixels.

The engine draws every candidate from a Diagram, so the attributes people's taste depends
on are known exactly before any pixel exists: node shapes, fill colour, line style, how much
of the canvas the nodes take, and which way the flow runs. The image descriptors
(descriptors.py) estimate most of them from the render, with errors: arrowheads and plain
lines are nearly the same pixels, white nodes have no measurable shape, labels read as
dashes. This descriptor reads them from the nodes, in blocks (BLOCKS) that knn.py compares
one at a time, next to the auto-encoder embedding's blocks (combine()):

- shapes (3): share of nodes drawn as circle, round rectangle, rectangle (the renderer draws
  unknown shapes as rectangles).
- fill (3): the most common node fill, as descriptors.lab encodes colours (CIELAB lightness
  and the chroma-scaled hue direction).
- lines (3): share of edges drawn as solid arrow, solid line, dashed line (by the source
  node's style, as the renderer draws them; unknown styles are plain lines).
- density (1): log share of the canvas covered by node boxes, standardised.
- flow (2): the mean unit vector of the edges, source to target: (1, 0) left to right,
  (0, 1) top to bottom.

Each block is divided by SCALES, its root-mean-square distance between two random synthetic
diagrams (training/data's generator; fit_scales() recomputes them), so that in combine()
every block, image or content, contributes about the same distance between random diagrams.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from engine.diagram.model import CANVAS_H, CANVAS_W, Diagram
from engine.scoring.descriptors import lab

SHAPES = ("circle", "round rectangle", "rectangle")
LINE_STYLES = ("solid arrow", "solid line", "dashed line")
BLOCKS = {
    "shapes": slice(0, 3),
    "fill": slice(3, 6),
    "lines": slice(6, 9),
    "density": slice(9, 10),
    "flow": slice(10, 12),
}
SIZE = 12
# From fit_scales(sample_diagrams(2000, seed=0)) (training/train_ae.py's training diagrams).
DENSITY_MEAN, DENSITY_STD = -2.68, 0.51
SCALES = {"shapes": 1.12, "fill": 1.01, "lines": 1.06, "density": 1.41, "flow": 0.86}


def describe(diagram: Diagram) -> np.ndarray:
    """A Diagram -> SIZE float32 values, unscaled but for the standardised density."""
    nodes = diagram.nodes
    if not nodes:
        return np.zeros(SIZE, np.float32)
    shapes = Counter(n.shape if n.shape in SHAPES else "rectangle" for n in nodes)
    edges = diagram.edges()
    lines = Counter(a.line_style if a.line_style in LINE_STYLES else "solid line" for a, _ in edges)
    fill = Counter(tuple(n.fill) for n in nodes).most_common(1)[0][0]
    area = sum(max(n.width, 0) * max(n.height, 0) for n in nodes) / (CANVAS_W * CANVAS_H)
    flow = np.zeros(2)
    for a, b in edges:
        step = np.array([b.x - a.x, b.y - a.y], np.float64)
        flow += step / max(float(np.hypot(*step)), 1e-9)
    return np.concatenate(
        [
            [shapes[s] / len(nodes) for s in SHAPES],
            lab(np.array(fill, np.float64)),
            [lines[s] / max(len(edges), 1) for s in LINE_STYLES],
            [(np.log(area + 1e-3) - DENSITY_MEAN) / DENSITY_STD],
            flow / max(len(edges), 1),
        ]
    ).astype(np.float32)


def combine(
    image: np.ndarray, image_blocks: Sequence[slice], diagrams: Sequence[Diagram]
) -> np.ndarray:
    """The taste embedding: image embeddings (autoencoder.Embedder.embed, N x D) followed by
    the content blocks of the same diagrams, every block weighing the same (see blocks())."""
    image = np.atleast_2d(np.asarray(image, np.float32))
    if len(image) != len(diagrams):
        raise ValueError(f"{len(image)} image embeddings but {len(diagrams)} diagrams")
    total = len(image_blocks) + len(BLOCKS)
    parts = [image * np.sqrt(len(image_blocks) / total)]  # each image block: 1/sqrt(8) -> ...
    raw = np.stack([describe(d) for d in diagrams]) if diagrams else np.zeros((0, SIZE))
    for name, s in BLOCKS.items():
        parts.append(raw[:, s] / (SCALES[name] * np.sqrt(total)))
    return np.concatenate(parts, axis=1).astype(np.float32)


def blocks(image_blocks: Sequence[slice]) -> tuple[slice, ...]:
    """Where each block lies in combine()'s vectors: the image blocks, then BLOCKS."""
    start = max(s.stop for s in image_blocks)
    content = (slice(s.start + start, s.stop + start) for s in BLOCKS.values())
    return (*image_blocks, *content)


def fit_scales(diagrams: Sequence[Diagram], seed: int = 0) -> dict:
    """DENSITY_MEAN, DENSITY_STD and SCALES for a set of diagrams (how the constants above
    were made; tests check they still hold for the generator)."""
    rng = np.random.default_rng(seed)
    raw = np.stack([describe(d) for d in diagrams]).astype(np.float64)
    density = raw[:, BLOCKS["density"]] * DENSITY_STD + DENSITY_MEAN  # undo the constants
    mean, std = float(density.mean()), float(density.std())
    raw[:, BLOCKS["density"]] = (density - mean) / std
    a, b = rng.integers(0, len(raw), (2, 8 * len(raw)))
    scales = {
        name: float(np.sqrt(((raw[a, s] - raw[b, s]) ** 2).sum(axis=1).mean()))
        for name, s in BLOCKS.items()
    }
    return {"density_mean": mean, "density_std": std, "scales": scales}
