"""The one image preprocessing shared by the CNN and the auto-encoder, in training and scoring.

The whole rendered canvas is kept (no centre crop: a node at the edge matters as much as
one in the middle) and shrunk by the same factor on both axes, with area averaging so that
thin lines fade to grey instead of vanishing. The size is a model's own (its config.json
says which; INPUT_W x INPUT_H = 160 x 96, factor 6.25, for the auto-encoder and models that
name none): fine defects (a label that does not fit, a pale line, an edge grazing a node)
need more pixels than the overall layout does.
Images are RGB, the renderer's channel order; the result is float32 in 0..1, channels first.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from engine.diagram.model import CANVAS_H, CANVAS_W

Size = tuple[int, int]  # (width, height) in pixels
INPUT_W, INPUT_H = 160, 96
DEFAULT_SIZE: Size = (INPUT_W, INPUT_H)


def check_size(size: Size) -> Size:
    """(width, height) if it keeps the canvas' aspect ratio, else ValueError."""
    w, h = (int(v) for v in size)
    if w < 8 or h < 8 or CANVAS_W * h != CANVAS_H * w:
        raise ValueError(f"input size {w}x{h} must keep the canvas' {CANVAS_W}:{CANVAS_H} ratio")
    return w, h


check_size(DEFAULT_SIZE)


def shrink(image: np.ndarray, size: Size = DEFAULT_SIZE) -> np.ndarray:
    """An HxWx3 uint8 RGB image -> 3 x height x width uint8 (the pixels to_input scales)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got {image.shape} {image.dtype}")
    w, h = size
    if image.shape[:2] != (h, w):
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(image.transpose(2, 0, 1))


def to_input(image: np.ndarray, size: Size = DEFAULT_SIZE) -> np.ndarray:
    """An HxWx3 uint8 RGB image -> 3 x height x width float32 in 0..1."""
    return shrink(image, size).astype(np.float32) / 255.0


def to_batch(images: Sequence[np.ndarray], size: Size = DEFAULT_SIZE) -> np.ndarray:
    """Many images -> N x 3 x height x width float32 (an empty batch keeps its shape)."""
    if not images:
        return np.zeros((0, 3, size[1], size[0]), dtype=np.float32)
    return np.stack([to_input(im, size) for im in images])
