"""WAL checkpoints off the writers' path (hub/store/checkpoint.py), on a real SQLite file.

每次提交不再自己做检查点：后台线程负责，写入者不用等待复制。
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from hub.store import Store
from hub.store.checkpoint import FALLBACK_FRAMES, Checkpointer

PAGE = 4096
ROW = "x" * 3000  # about one page a row: frames are easy to count


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    with db.session(write=True) as s:
        s.execute(text("CREATE TABLE pad (id INTEGER PRIMARY KEY, body TEXT)"))
    yield db
    db.close()


def _write(store: Store, commits: int, rows: int = 4) -> None:
    for _ in range(commits):
        with store.session(write=True) as s:
            s.execute(text("INSERT INTO pad (body) VALUES (:b)"), [{"b": ROW}] * rows)


def _wal_frames(path: Path) -> int:
    """Frames in the WAL file (header 32 bytes, each frame 24 + a page)."""
    wal = Path(f"{path}-wal")
    return max(0, (wal.stat().st_size - 32) // (24 + PAGE)) if wal.exists() else 0


def _probe(path: Path) -> tuple[int, int, int]:
    """A PASSIVE checkpoint from a connection of the test's own: (busy, frames in the WAL,
    frames copied); it copies them too."""
    probe = sqlite3.connect(path)
    try:
        busy, frames, copied = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        probe.close()
    return busy, frames, copied


def _until(check: object, timeout_s: float = 10.0) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_writers_do_not_checkpoint(store: Store, tmp_path: Path) -> None:
    """With the checkpointer stopped, 1,000 pages and more stay in the WAL: no commit copied
    them back (SQLite's default would have, inside the commit that passed 1,000)."""
    assert store.checkpointer is not None
    store.checkpointer.stop()
    with store.session() as s:
        assert s.execute(text("PRAGMA wal_autocheckpoint")).scalar() == FALLBACK_FRAMES
    _write(store, 400)
    # Before this probe nothing was copied: `copied` counts the probe's own work.
    busy, frames, copied = _probe(tmp_path / "hub.db")
    assert busy == 0 and frames >= 1_600, frames
    assert copied == frames


def test_the_thread_checkpoints_after_writes(store: Store, tmp_path: Path) -> None:
    """A burst of commits is copied back by the thread, and the next write starts the WAL
    again from its beginning (the file does not keep growing)."""
    assert store.checkpointer is not None
    _write(store, 300)
    assert _until(lambda: store.checkpointer is not None and store.checkpointer.checkpoints > 0)
    grown = _wal_frames(tmp_path / "hub.db")
    assert grown >= 1_200
    # All copied: the next commit writes at the WAL's start, so the file stops growing.
    time.sleep(3 * store.checkpointer.every_s)
    _write(store, 300)
    assert _wal_frames(tmp_path / "hub.db") <= grown + 50
    with store.session() as s:
        assert s.execute(text("SELECT count(*) FROM pad")).scalar() == 2_400


def test_a_writer_that_never_pauses_is_held_back_at_the_cap(store: Store, tmp_path: Path) -> None:
    """A writer committing without a pause: at `cap_frames` the checkpointer takes the
    writers' lock once to catch up, and the WAL stays bounded."""
    assert store.checkpointer is not None
    store.checkpointer.stop()
    checkpointer = Checkpointer(
        str(tmp_path / "hub.db"), store._one_writer, every_s=0.05, cap_frames=400
    ).start()
    stop = threading.Event()
    written = [0]

    def writer() -> None:
        while not stop.is_set():
            _write(store, 1)
            written[0] += 4

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert _until(lambda: checkpointer.held >= 3 and written[0] >= 8_000, 60)
    finally:
        stop.set()
        thread.join()
        checkpointer.stop()
    # Without a checkpoint the WAL would hold every page written (a row each, and more).
    assert _wal_frames(tmp_path / "hub.db") < written[0] / 2
    with store.session() as s:
        assert s.execute(text("SELECT count(*) FROM pad")).scalar() == written[0]


def test_a_store_before_its_file_exists(tmp_path: Path) -> None:
    """The checkpointer never creates the database file (mode=rw), and starts checkpointing
    once the store made it."""
    path = tmp_path / "later" / "hub.db"
    db = Store(f"sqlite:///{path}")
    try:
        time.sleep(0.5)
        assert not path.exists()
        path.parent.mkdir()
        with db.session(write=True) as s:
            s.execute(text("CREATE TABLE pad (id INTEGER PRIMARY KEY, body TEXT)"))
        _write(db, 50)
        assert _until(lambda: db.checkpointer is not None and db.checkpointer.checkpoints > 0)
    finally:
        db.close()
    assert db.checkpointer is not None and db.checkpointer._thread is not None
    assert not db.checkpointer._thread.is_alive()


def test_a_checkpoint_after_a_bulk_write(store: Store, tmp_path: Path) -> None:
    """`Store.checkpoint` (after a registry import) copies the WAL at once: the next write
    starts the WAL again, without the thread."""
    assert store.checkpointer is not None
    store.checkpointer.stop()
    _write(store, 400)
    store.checkpoint()
    _write(store, 1)
    _, frames, _ = _probe(tmp_path / "hub.db")
    assert frames < 50, frames  # without the checkpoint: 1,600 and more
