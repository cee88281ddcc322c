"""Is the data dir usable? One check, run before the engine serves and by `--check`.

A damaged store must stop the engine at once with one line saying what is wrong and what to
do, never a traceback and a process that lingers. So this runs on plain sqlite3 (no worker
thread to outlive a failure) and turns every way the directory can be unusable into
StoreDamaged: a file that is empty, not SQLite or fails SQLite's integrity check, and a
database or image directory the engine cannot write. A zero-length file is refused too:
SQLite would silently treat it as a new empty database, hiding the loss.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path

DATABASE = "engine.sqlite3"
IMAGES = "images"
HEADER = b"SQLite format 3\x00"
# integrity_check reads every page and checks every index; on a large store the faster
# quick_check (no index-to-table cross checks) keeps the start-up within seconds.
FULL_CHECK_MAX_BYTES = 256 * 1024 * 1024
RESTORE_HINT = "restore a backup (diagrammer engine --restore FILE, docs/api.md)"


class StoreDamaged(Exception):
    """The data dir cannot be served; the message is one line: what is wrong, what to do."""


def check_data_dir(data_dir: Path) -> str:
    """Raise StoreDamaged unless the store under data_dir can be read and written; return
    what was checked (one line) when it can. A missing database is fine: it is created."""
    _writable_dir(data_dir)
    _writable_dir(data_dir / IMAGES)
    path = data_dir / DATABASE
    if not path.exists():
        return f"{data_dir}: no database yet (a new one is created at start)"
    check = check_database(path)
    return f"{path}: {check} ok, {path.stat().st_size:,} bytes"


def check_database(path: Path, *, writable: bool = True) -> str:
    """Raise StoreDamaged unless the SQLite file is whole (and writable); return the check."""
    if path.is_dir():
        raise StoreDamaged(f"{path} is a directory, not the engine's database: move it away")
    size = _size(path)
    if size == 0:
        raise StoreDamaged(
            f"{path} is empty (0 bytes), so the store it held is lost: {RESTORE_HINT},"
            " or delete the file to start an empty store"
        )
    if _header(path) != HEADER:
        raise StoreDamaged(f"{path} is not an SQLite database (wrong header): {RESTORE_HINT}")
    pragma = "integrity_check" if size <= FULL_CHECK_MAX_BYTES else "quick_check"
    if writable:
        _writable_files(path)
    uri = f"{path.resolve().as_uri()}?mode={'rw' if writable else 'ro'}"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True, isolation_level=None)) as conn:
            problems = [row[0] for row in conn.execute(f"PRAGMA {pragma}(5)")]
    except sqlite3.DatabaseError as e:
        raise StoreDamaged(explain(path, e)) from None
    if problems != ["ok"]:
        why = f"{path} failed SQLite's {pragma} ({problems[0]})"
        raise StoreDamaged(f"{why}: {RESTORE_HINT}")
    return pragma


def _writable_files(path: Path) -> None:
    """The database and the WAL files beside it open for writing. SQLite itself would
    fall back to read-only without a word, and the first request would find out."""
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if file.exists():
                file.open("r+b").close()
        except OSError as e:
            raise StoreDamaged(
                f"{file} cannot be written ({e.strerror}): give the engine's user write access"
                " to it and to its directory"
            ) from None


def explain(path: Path, error: sqlite3.DatabaseError) -> str:
    why = str(error)
    if "readonly" in why or "read-only" in why or "unable to open" in why:
        return (
            f"{path} cannot be written ({why}): give the engine's user write access to it"
            " and to its directory"
        )
    if "locked" in why or "busy" in why:
        return f"{path} is locked by another process ({why}): stop the other engine first"
    return f"{path} is damaged ({why}): {RESTORE_HINT}"


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as e:
        raise StoreDamaged(f"{path} cannot be read ({e.strerror}): check its permissions") from None


def _header(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(len(HEADER))
    except OSError as e:
        raise StoreDamaged(f"{path} cannot be read ({e.strerror}): check its permissions") from None


def _writable_dir(folder: Path) -> None:
    """Create the folder if needed and prove a file can be written in it (os.access is not
    proof: it says yes to root on a read-only mount)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise StoreDamaged(
            f"{folder} cannot be written ({e.strerror}): give the engine's user write access"
            " to it, or set ENGINE_DATA_DIR to a writable directory"
        ) from None
