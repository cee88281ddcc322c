"""Render 12 catalogue entries into one 4 x 3 grid PNG, each tile titled with the entry's name.

    python scripts/gallery.py [-o docs/images/catalogue_gallery.png]

cv2 and numpy only: every entry is laid out and rendered by the engine (1000 x 600), scaled
to a tile and framed with a thin border, its name written above it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from engine.catalogue.catalogue import find
from engine.diagram.read import to_diagram
from engine.diagram.render import render_array

CHOSEN = (
    "LeNet-5", "ResNet basic block", "U-Net", "Transformer encoder block",
    "Inception module", "VGG-16", "Multi-head attention", "Faster R-CNN",
    "RAG", "k-fold cross-validation", "RL loop (agent-environment)", "Autoencoder",
)  # fmt: skip
COLUMNS, ROWS = 4, 3
TILE_W, TILE_H = 600, 360  # the 1000 x 600 canvas scaled by 0.6
TITLE_H, PAD = 44, 18
INK = (40, 40, 40)
FONT = cv2.FONT_HERSHEY_DUPLEX


def tile(name: str) -> np.ndarray:
    entry = find(name)
    if entry is None or entry.name != name:
        raise SystemExit(f"no catalogue entry named {name!r}")
    rgb = render_array(to_diagram(entry.sketch_text).diagram)
    img = np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    img = cv2.resize(img, (TILE_W, TILE_H), interpolation=cv2.INTER_AREA)
    cv2.rectangle(img, (0, 0), (TILE_W - 1, TILE_H - 1), (200, 200, 200), 1)
    head = np.full((TITLE_H, TILE_W, 3), 255, np.uint8)
    scale = 0.8
    (w, _), _ = cv2.getTextSize(name, FONT, scale, 1)
    cv2.putText(head, name, ((TILE_W - w) // 2, TITLE_H - 14), FONT, scale, INK, 1, cv2.LINE_AA)
    return np.vstack([head, img])


def gallery(names: tuple[str, ...] = CHOSEN) -> np.ndarray:
    """The grid, white background, PAD px between and around tiles."""
    h, w = TITLE_H + TILE_H, TILE_W
    size = (ROWS * h + (ROWS + 1) * PAD, COLUMNS * w + (COLUMNS + 1) * PAD, 3)
    out = np.full(size, 255, np.uint8)
    for k, name in enumerate(names[: COLUMNS * ROWS]):
        r, c = divmod(k, COLUMNS)
        y, x = PAD + r * (h + PAD), PAD + c * (w + PAD)
        out[y : y + h, x : x + w] = tile(name)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", default="docs/images/catalogue_gallery.png")
    args = parser.parse_args()
    img = gallery()
    if not cv2.imwrite(args.out, img):
        raise SystemExit(f"cannot write {args.out}")
    print(Path(args.out))


if __name__ == "__main__":
    main()
