"""One device rule for the language model and the scorers (engine/device.py)."""

import pytest
import torch

from engine.device import pick_device
from engine.llm import load
from engine.scoring import autoencoder, cnn


@pytest.mark.parametrize("asked", ["auto", None])
def test_auto_and_none_mean_the_same_device(asked) -> None:
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device(asked).type == want


def test_a_named_device_is_taken_as_it_is() -> None:
    assert pick_device("cpu") == torch.device("cpu")
    with pytest.raises(RuntimeError):
        pick_device("no-such-device")


def test_the_model_loader_and_the_scorers_share_the_rule() -> None:
    assert load.pick_device is cnn.pick_device is autoencoder.pick_device is pick_device
