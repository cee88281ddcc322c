"""Backup and restore of the database, with SQLite's online backup API.

A backup is a consistent snapshot even while the engine writes (WAL lets the copy read
while requests are stored), checked before it takes its name. A restore (engine stopped)
checks the backup, moves the current database and its WAL aside (kept, never deleted) and
copies the backup into place. Images are content-addressed files that rows point to: copy
images/ after the database backup and every row's picture is there (docs/api.md).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path

from engine.store.check import DATABASE, StoreDamaged, check_database

SIDE_FILES = ("", "-wal", "-shm")  # the database and SQLite's files beside it


def backup(data_dir: Path, target: Path) -> str:
    """Copy data_dir's database to target (a file); return a one-line summary."""
    source = data_dir / DATABASE
    if not source.is_file():
        raise StoreDamaged(f"{source} does not exist: there is nothing to back up")
    if target.exists():
        raise StoreDamaged(f"{target} exists: name a new file for the backup")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(_copy(source, target), target)
    return f"backed up {source} to {target} ({target.stat().st_size:,} bytes, checked)"


def restore(data_dir: Path, source: Path) -> str:
    """Make the backup at source data_dir's database; return a one-line summary. The
    engine must be stopped: it would go on serving what it had read."""
    check_database(source, writable=False)
    live = data_dir / DATABASE
    data_dir.mkdir(parents=True, exist_ok=True)
    copied = _copy(source, live)  # before anything moves: a failed copy changes nothing
    stamp = time.strftime("%Y%m%d-%H%M%S")
    moved = []
    for suffix in SIDE_FILES:
        old = Path(f"{live}{suffix}")
        if old.exists():
            aside = Path(f"{live}.before-restore-{stamp}{suffix}")
            old.replace(aside)
            moved.append(aside.name)
    os.replace(copied, live)
    kept = f"; the previous files are kept as {', '.join(moved)}" if moved else ""
    return f"restored {live} from {source}{kept}"


def _copy(source: Path, target: Path) -> Path:
    """SQLite's backup of source into a fresh file beside target, checked; its path."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        with (
            contextlib.closing(sqlite3.connect(source)) as src,
            contextlib.closing(sqlite3.connect(partial)) as dst,
        ):
            src.backup(dst)
        check_database(partial)
    except (sqlite3.DatabaseError, StoreDamaged, OSError) as e:
        partial.unlink(missing_ok=True)
        raise StoreDamaged(f"{source} could not be copied ({e}): check it with --check") from None
    return partial
