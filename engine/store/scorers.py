"""The scorer registry: trained scorer versions on disk and the one in use of each kind.

Every rebuild of a scorer writes a version folder <data dir>/scorers/<kind>/<stamp>/; the
version served is named by current.json beside them, so it survives restarts.
"""

from __future__ import annotations

import json
from pathlib import Path

SCORERS = ("autoencoder", "cnn", "population")
CURRENT = "current.json"


def current_scorers(data_dir: Path) -> dict[str, Path]:
    """The scorer folders trained here and in use, by kind."""
    out = {}
    for kind in SCORERS:
        pointer = data_dir / "scorers" / kind / CURRENT
        if pointer.is_file():
            out[kind] = Path(json.loads(pointer.read_text(encoding="utf-8"))["folder"])
    return out


def set_current_scorer(data_dir: Path, kind: str, folder: Path) -> None:
    pointer = data_dir / "scorers" / kind / CURRENT
    pointer.parent.mkdir(parents=True, exist_ok=True)
    tmp = pointer.with_suffix(".tmp")
    tmp.write_text(json.dumps({"folder": str(folder)}), encoding="utf-8")
    tmp.replace(pointer)  # atomic: the pointer names the old folder or the new one
