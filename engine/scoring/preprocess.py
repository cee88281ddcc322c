"""The one image preprocessing shared by the CNN and the auto-encoder, in training and scoring.

The whole rendered canvas is kept (no centre crop: a node at the edge matters as much as
one in the middle) and shrunk by the same factor on both axes (1000 x 600 -> 160 x 96,
factor 6.25), with area averaging so that thin lines fade to grey instead of vanishing.
Images are RGB, the renderer's channel order; the result is float32 in 0..1, channels first.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from engine.diagram.model import CANVAS_H, CANVAS_W

INPUT_W, INPUT_H = 160, 96
assert CANVAS_W * INPUT_H == CANVAS_H * INPUT_W, "the input keeps the canvas' aspect ratio"


def to_input(image: np.ndarray) -> np.ndarray:
    """An HxWx3 uint8 RGB image -> 3 x INPUT_H x INPUT_W float32 in 0..1."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got {image.shape} {image.dtype}")
    if image.shape[:2] != (INPUT_H, INPUT_W):
        image = cv2.resize(image, (INPUT_W, INPUT_H), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image.transpose(2, 0, 1), dtype=np.float32) / 255.0


def to_batch(images: Sequence[np.ndarray]) -> np.ndarray:
    """Many images -> N x 3 x INPUT_H x INPUT_W float32 (an empty batch keeps its shape)."""
    if not images:
        return np.zeros((0, 3, INPUT_H, INPUT_W), dtype=np.float32)
    return np.stack([to_input(im) for im in images])
