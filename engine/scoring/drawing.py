"""A candidate drawn once, with everything the scorers read from the picture.

render_array's picture, the CNN's and the auto-encoder's inputs (preprocess.shrink at each
model's size, uint8: to_input's float is that / 255, computed where the model runs) and the
picture's descriptors (descriptors.py). Made where the candidate is read (engine/scoring/
workers.py: in a worker process) or by the ranker itself (user_rank.py); the CNN score and
the auto-encoder's latent are filled in by a worker that holds the models (a CPU host), else
by the ranker in one batch. `png` is the render's PNG when a worker made it (the same bytes
as render(): what travels back from a worker is 30 KB, not the 1.8 MB picture).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.diagram.model import Diagram
from engine.diagram.render import encode_png, render_array
from engine.scoring import descriptors
from engine.scoring.autoencoder import describe_pool
from engine.scoring.preprocess import DEFAULT_SIZE, Size, shrink


@dataclass(frozen=True)
class Drawn:
    cnn_input: np.ndarray  # 3 x h x w uint8 at the CNN's input size
    ae_input: np.ndarray  # 3 x h x w uint8 at the auto-encoder's (preprocess.DEFAULT_SIZE)
    descriptors: np.ndarray  # descriptors.describe of the picture
    image: np.ndarray | None = None  # H x W x 3 uint8 RGB; None when png is set
    png: bytes | None = None
    readability: float | None = None  # the CNN's, when a worker ran it
    latent: np.ndarray | None = None  # the auto-encoder's raw latent, when a worker ran it

    def png_bytes(self) -> bytes:
        return self.png if self.png is not None else encode_png(self.image)


def of_image(image: np.ndarray, cnn_size: Size) -> Drawn:
    """What the scorers read from a render (HxWx3 uint8 RGB)."""
    ae_input = shrink(image, DEFAULT_SIZE)
    cnn_input = ae_input if tuple(cnn_size) == DEFAULT_SIZE else shrink(image, cnn_size)
    small = ae_input.astype(np.float32) / 255.0  # = preprocess.to_input(image)
    return Drawn(cnn_input, ae_input, descriptors.describe(image, small), image=image)


def draw(diagram: Diagram, cnn_size: Size) -> Drawn:
    return of_image(render_array(diagram), cnn_size)


def draw_many(diagrams: list[Diagram], cnn_size: Size) -> list[Drawn]:
    """draw() of each, on the auto-encoder's describe threads (OpenCV releases the GIL: the
    scoring thread's own parallelism when there is no worker pool)."""
    run = describe_pool().map if len(diagrams) > 1 else map
    return list(run(lambda d: draw(d, cnn_size), diagrams))


def as_float(inputs: list[np.ndarray]) -> np.ndarray:
    """uint8 model inputs -> the N x 3 x h x w float32 batch preprocess.to_batch makes."""
    return np.stack(inputs).astype(np.float32) / 255.0
