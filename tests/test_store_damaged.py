"""A damaged or unwritable data dir stops the engine at once with one line; backups restore.

The damage is real: bytes of a real store overwritten, cut or emptied; "read-only" is a
read-only bind mount when the tests run as root (who may write through any chmod), a
chmod otherwise.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from diagrammer.cli import main
from engine.store import Store
from engine.store.backup import backup, restore
from engine.store.check import StoreDamaged, check_data_dir

ROOT = Path(__file__).resolve().parents[1]
PAGE = 4096


async def _filled(data_dir: Path, requests: int = 300, prefix: str = "r") -> None:
    store = await Store.open(data_dir)
    try:
        for i in range(requests):
            await store.requests.create(f"{prefix}{i}", "u", "x" * 500, 1, 1)
    finally:
        await store.close()


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """A real store of ~70 pages (300 requests), closed."""
    data_dir = tmp_path / "data"
    asyncio.run(_filled(data_dir))
    return data_dir


def _random(p: Path) -> None:
    p.write_bytes(os.urandom(p.stat().st_size))


def _halved(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _header(p: Path) -> None:
    p.write_bytes(os.urandom(100) + p.read_bytes()[100:])


def _emptied(p: Path) -> None:
    p.write_bytes(b"")


def _middle_pages(p: Path) -> None:
    data = bytearray(p.read_bytes())
    first = len(data) // PAGE // 3
    for page in range(first, first + 3):
        data[page * PAGE : (page + 1) * PAGE] = os.urandom(PAGE)
    p.write_bytes(bytes(data))


def _directory(p: Path) -> None:
    p.unlink()
    p.mkdir()


DAMAGE: dict[str, Callable[[Path], None]] = {
    "random bytes": _random,
    "cut in half": _halved,
    "header overwritten": _header,
    "zero length": _emptied,
    "middle pages overwritten": _middle_pages,
    "a directory": _directory,
}


def _one_line_with_advice(message: str, path: Path) -> None:
    assert "\n" not in message and str(path) in message
    assert any(word in message for word in ("restore", "delete", "move", "access")), message


@pytest.mark.parametrize("damage", list(DAMAGE))
async def test_a_damaged_database_is_refused_with_one_line_saying_what_to_do(
    store_dir: Path, damage: str
) -> None:
    database = store_dir / "engine.sqlite3"
    DAMAGE[damage](database)
    with pytest.raises(StoreDamaged) as refused:
        check_data_dir(store_dir)
    _one_line_with_advice(str(refused.value), database)
    with pytest.raises(StoreDamaged):
        await Store.open(store_dir)
    assert not _store_threads(), "a failed open left aiosqlite's thread running"


async def test_an_intact_store_passes_and_a_failed_open_leaves_no_thread(store_dir: Path) -> None:
    assert "integrity_check ok" in check_data_dir(store_dir)
    store = await Store.open(store_dir)
    await store.db.write("INSERT INTO schema_version (version, applied) VALUES (999, 0)")
    await store.close()
    with pytest.raises(StoreDamaged, match="newer engine"):
        await Store.open(store_dir)  # fails in migrate, after the connection was made
    assert not _store_threads()


def _store_threads() -> list[threading.Thread]:
    """aiosqlite's worker threads still alive a second after their connections closed."""
    threads = [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]
    for thread in threads:
        thread.join(1.0)
    return [t for t in threads if t.is_alive()]


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """The file or directory read-only, for root too (a read-only bind mount)."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(mode & ~0o222)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    bind = subprocess.run(["mount", "--bind", path, path], capture_output=True)
    if bind.returncode != 0:
        pytest.skip(f"cannot make a read-only mount here: {bind.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", path], check=True)
        yield
    finally:
        subprocess.run(["umount", path], check=True)


def test_a_read_only_database_or_empty_dir_is_refused_with_one_line(
    store_dir: Path, tmp_path: Path
) -> None:
    database = store_dir / "engine.sqlite3"
    with read_only(database), pytest.raises(StoreDamaged) as refused:
        check_data_dir(store_dir)
    _one_line_with_advice(str(refused.value), database)
    empty = tmp_path / "empty"
    empty.mkdir()
    with read_only(empty), pytest.raises(StoreDamaged) as refused:
        check_data_dir(empty)
    _one_line_with_advice(str(refused.value), empty)
    with read_only(store_dir / "images"), pytest.raises(StoreDamaged, match="images"):
        check_data_dir(store_dir)


def test_engine_check_says_ok_or_one_line_and_exit_2(
    store_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENGINE_SECRET", raising=False)  # checking needs no secret
    args = ["engine", "--check", "--data-dir", str(store_dir), "--env-file", "/nonexistent"]
    assert main(args) == 0
    assert "integrity_check ok" in capsys.readouterr().out
    _middle_pages(store_dir / "engine.sqlite3")
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("diagrammer: ") and "damaged" in err
    _one_line_with_advice(err, store_dir / "engine.sqlite3")


@pytest.mark.parametrize("damage", ["random bytes", "zero length", "middle pages overwritten"])
def test_the_engine_exits_within_5_s_on_a_damaged_store(store_dir: Path, damage: str) -> None:
    DAMAGE[damage](store_dir / "engine.sqlite3")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGINE_")}
    env |= {"ENGINE_SECRET": "s" * 20, "ENGINE_DATA_DIR": str(store_dir)}
    env |= {"ENGINE_BACKEND": "demo", "ENGINE_PORT": "1"}  # never reached: it must not bind
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "diagrammer", "engine", "--env-file", "/nonexistent"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    took = time.monotonic() - started
    assert done.returncode != 0 and took < 5.0, (done.returncode, took)
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in lines[0], lines
    _one_line_with_advice(lines[0], store_dir / "engine.sqlite3")


async def test_an_online_backup_restores_what_was_there_when_it_was_taken(
    tmp_path: Path,
) -> None:
    data_dir, copy = tmp_path / "data", tmp_path / "backups" / "engine-1.sqlite3"
    await _filled(data_dir, 20)
    store = await Store.open(data_dir)  # the engine is running: WAL, connection open
    await store.requests.create("late-but-before", "u", "d", 1, 1)
    assert "checked" in await asyncio.to_thread(backup, data_dir, copy)
    await store.requests.create("after", "u", "d", 1, 1)
    await store.close()
    with pytest.raises(StoreDamaged, match="exists"):
        backup(data_dir, copy)  # never overwrites a backup

    _middle_pages(data_dir / "engine.sqlite3")
    summary = restore(data_dir, copy)
    assert "before-restore" in summary
    assert "integrity_check ok" in check_data_dir(data_dir)
    store = await Store.open(data_dir)
    try:
        assert (await store.requests.counts()) == {"queued": 21}
        assert await store.requests.get("late-but-before") is not None
        assert await store.requests.get("after") is None
    finally:
        await store.close()
    assert list(data_dir.glob("engine.sqlite3.before-restore-*"))  # the damaged one, kept


def test_a_damaged_backup_is_not_restored_and_the_store_is_left_alone(
    store_dir: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.sqlite3"
    shutil.copy(store_dir / "engine.sqlite3", bad)
    _halved(bad)
    before = (store_dir / "engine.sqlite3").read_bytes()
    with pytest.raises(StoreDamaged):
        restore(store_dir, bad)
    assert (store_dir / "engine.sqlite3").read_bytes() == before
    assert not list(store_dir.glob("*.before-restore-*"))
