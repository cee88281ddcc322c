"""One image preprocessing for the CNN and the auto-encoder: whole canvas, RGB, 0..1."""

import numpy as np
import pytest

from engine.diagram.model import CANVAS_H, CANVAS_W
from engine.scoring.preprocess import INPUT_H, INPUT_W, check_size, shrink, to_batch, to_input


def _canvas() -> np.ndarray:
    return np.full((CANVAS_H, CANVAS_W, 3), 255, np.uint8)


def test_shape_range_and_channel_order() -> None:
    image = _canvas()
    image[:, :, 1:] = 0  # pure red, in RGB order
    x = to_input(image)
    assert x.shape == (3, INPUT_H, INPUT_W) and x.dtype == np.float32
    np.testing.assert_allclose(x[0], 1.0)
    np.testing.assert_allclose(x[1:], 0.0)


def test_the_whole_canvas_is_kept_no_centre_crop() -> None:
    image = _canvas()
    image[:25, :25] = 0  # a dark mark in the top-left corner ...
    image[-25:, -25:] = 0  # ... and one in the bottom-right corner
    x = to_input(image)
    assert x[:, :3, :3].max() < 0.05 and x[:, -3:, -3:].max() < 0.05
    assert x[:, INPUT_H // 2, INPUT_W // 2].min() == 1.0
    assert INPUT_W / INPUT_H == CANVAS_W / CANVAS_H  # same factor on both axes: no distortion


def test_thin_lines_survive_as_grey() -> None:
    image = _canvas()
    image[300:302, :] = 0  # a 2-px line across the canvas
    assert to_input(image).min() < 0.8


def test_batch_equals_one_by_one_and_is_deterministic() -> None:
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (CANVAS_H, CANVAS_W, 3), dtype=np.uint8) for _ in range(3)]
    batch = to_batch(images)
    assert batch.shape == (3, 3, INPUT_H, INPUT_W)
    for i, im in enumerate(images):
        np.testing.assert_array_equal(batch[i], to_input(im))
    assert to_batch([]).shape == (0, 3, INPUT_H, INPUT_W)


def test_an_image_already_at_input_size_is_only_scaled() -> None:
    small = np.random.default_rng(1).integers(0, 256, (INPUT_H, INPUT_W, 3), dtype=np.uint8)
    np.testing.assert_allclose(to_input(small), small.transpose(2, 0, 1) / 255.0, atol=1e-7)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((600, 1000), np.uint8), np.zeros((600, 1000, 4), np.uint8), np.zeros((60, 100, 3))],
)
def test_wrong_images_are_refused(bad: np.ndarray) -> None:
    with pytest.raises(ValueError):
        to_input(bad)


def test_a_larger_input_size_is_an_exact_box_average() -> None:
    # 250 x 150 is a quarter of the canvas: each input pixel is the mean of a 4 x 4 block.
    rng = np.random.default_rng(2)
    blocks = rng.integers(0, 256, (150, 250, 3), dtype=np.uint8)
    image = np.repeat(np.repeat(blocks, 4, axis=0), 4, axis=1)
    x = to_input(image, (250, 150))
    assert x.shape == (3, 150, 250)
    np.testing.assert_allclose(x, blocks.transpose(2, 0, 1) / 255.0, atol=1e-7)
    assert shrink(image, (250, 150)).dtype == np.uint8
    assert to_batch([image, image], (250, 150)).shape == (2, 3, 150, 250)
    assert to_batch([], (250, 150)).shape == (0, 3, 150, 250)


@pytest.mark.parametrize("size", [(250, 151), (100, 100), (5, 3)])
def test_sizes_that_distort_the_canvas_are_refused(size: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        check_size(size)
    assert check_size((500, 300)) == (500, 300)
