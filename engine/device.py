"""Which torch device to run on: one rule for the language model and the scorers."""

from __future__ import annotations

import torch


def pick_device(device: str | torch.device | None = "auto") -> torch.device:
    """None or "auto": CUDA when there is one, else the CPU; otherwise the device named."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
