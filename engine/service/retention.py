"""Rebuild outputs, bounded: the newest `keep` of each kind stay, and always the one in use.

Every preferences run writes a pairs file and every scorer rebuild a version folder; left
alone they fill the disk. Names carry a sortable time stamp (jobs._stamp), so "newest" is
the name order. The scorer named by a kind's current.json is never removed, however old.
Adapters are not touched: each is a model version that can still be promoted or rolled
back to.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from engine.store.scorers import CURRENT, SCORERS


def prune_outputs(data_dir: Path, keep: int) -> list[Path]:
    """Remove what is beyond the newest `keep` of each kind; return what was removed."""
    removed = _prune(sorted((data_dir / "preferences").glob("pairs-*.jsonl")), keep, set())
    for kind in SCORERS:
        root = data_dir / "scorers" / kind
        versions = sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []
        removed += _prune(versions, keep, _in_use(root))
    return removed


def _prune(oldest_first: list[Path], keep: int, protected: set[Path]) -> list[Path]:
    removed = []
    for path in oldest_first[: max(0, len(oldest_first) - keep)]:
        if path.resolve() in protected:
            continue
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _in_use(root: Path) -> set[Path]:
    pointer = root / CURRENT
    try:
        return {Path(json.loads(pointer.read_text(encoding="utf-8"))["folder"]).resolve()}
    except (OSError, ValueError, KeyError, TypeError):
        return set()  # no pointer (or a broken one): nothing trained here is in use
