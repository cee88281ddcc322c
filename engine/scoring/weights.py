"""Saving and loading a scoring model: safetensors weights plus a JSON config, no pickle."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
WEIGHTS, CONFIG = "model.safetensors", "config.json"


def save(model: torch.nn.Module, config: dict, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS))
    (folder / WEIGHTS).chmod(0o644)  # safetensors writes 0600; others read the model too
    (folder / CONFIG).write_text(json.dumps(config, indent=2) + "\n")


def load(folder: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(state dict on the CPU, config) of a saved model."""
    if not (folder / WEIGHTS).exists():
        raise FileNotFoundError(2, "no model weights", str(folder / WEIGHTS))
    return load_file(str(folder / WEIGHTS)), json.loads((folder / CONFIG).read_text())
