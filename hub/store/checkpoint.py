"""SQLite's WAL checkpoints off the alarm path (issue #8, "a fast engine").

In WAL mode a commit appends the pages it changed to the `-wal` file; a checkpoint copies them
back into the database file. By default (`wal_autocheckpoint=1000`) the commit that takes the
WAL past 1,000 pages (4 MiB) runs the checkpoint itself, inside that commit: whichever writer
it is, an SOS included, waits for a copy of up to ~1,000 pages and an fsync of the database.
And a page an index changes in many group commits is copied once per 1,000-page window.

Here no writer checkpoints in the normal course: `database.sqlite_pragmas` sets
`wal_autocheckpoint` to `FALLBACK_FRAMES`, a WAL this checkpointer never lets grow to (a
safety net should its thread not run). A `Checkpointer` thread with a connection of its own runs a
PASSIVE checkpoint every `every_s` seconds: it copies what the writers have committed while
they go on writing (SQLite lets one checkpoint run beside one writer; the copy runs outside the
GIL). The WAL starts again from its beginning at the first write after a checkpoint that left
nothing behind. A writer that keeps writing (a storm) appends while each checkpoint copies, so
that never happens by itself: once the WAL holds `cap_frames` pages, the checkpointer copies
once more, then a last time while holding the store's writer lock (only what came during the
copy before: a few milliseconds' worth), so the next write starts the WAL again. That is the
only time a writer waits for a checkpoint. `journal_size_limit` cuts the file back.

Measured by `python -m simulators.bench_wal` (20,000 devices in a random order, 200 events a
commit, the SQL of a group commit of `test` events on bare sqlite3, the settings' rounds
interleaved), two runs on 2026-12-03: CPU 57.6 / 65.4 µs an event with SQLite's defaults, 44.1
/ 57.0 here; commit p99 40.6 / 49.7 ms with the defaults, 29.1 / 38.7 here; a checkpoint in the
commit at 10,000 pages costs about as little CPU but its commit p99 is 77 / 88 ms. docs/hub.md,
"Checkpoints".
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
EVERY_S = 0.2
CAP_FRAMES = 16_384
"""WAL pages (64 MiB of 4 KiB pages) past which the checkpoint holds the writers back."""
FALLBACK_FRAMES = 2 * CAP_FRAMES
"""Every connection's `wal_autocheckpoint`: a writer checkpoints only past this."""


class Checkpointer:
    """A daemon thread that checkpoints one SQLite database file's WAL."""

    def __init__(
        self,
        path: str,
        writers: contextlib.AbstractContextManager[Any],
        *,
        every_s: float = EVERY_S,
        cap_frames: int = CAP_FRAMES,
    ) -> None:
        """Checkpoint the database at `path`; `writers` is the lock the store's writers take."""
        self.path = path
        self.writers = writers
        self.every_s = every_s
        self.cap_frames = cap_frames
        self.checkpoints = 0
        """Checkpoints that found pages to copy."""
        self.held = 0
        """Checkpoints run while holding the writers back (the WAL reached `cap_frames`)."""
        self.frames = 0
        """Pages in the WAL at the last look."""
        self.failures = 0
        """Checkpoints failed in a row (logged once, at the first)."""
        self._last = (0, 0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Checkpointer:
        """Start the thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread; what is left is checkpointed when the last connection closes."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(self.every_s):
                try:
                    conn = conn or self._connect()
                except sqlite3.Error as exc:
                    # Not there yet (a store opened before its file is made): look again.
                    log.debug("checkpointer of %s not connected: %s", self.path, exc)
                    continue
                try:
                    self.once(conn)
                except sqlite3.Error as exc:
                    # E.g. a full disk: the database cannot grow. The next look tries again;
                    # the WAL keeps growing meanwhile (and writers fail once it cannot).
                    self.failures += 1
                    if self.failures == 1:
                        log.warning("checkpoint of %s failed (retrying): %s", self.path, exc)
                else:
                    if self.failures:
                        log.info("checkpoint of %s works again", self.path)
                    self.failures = 0
        finally:
            if conn is not None:
                conn.close()

    def _connect(self) -> sqlite3.Connection:
        # mode=rw: never create the file (the store does, when it first connects).
        uri = Path(self.path).absolute().as_uri() + "?mode=rw"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    def once(self, conn: sqlite3.Connection) -> None:
        """One PASSIVE checkpoint; when the WAL reached the cap, catch up and hold the writers
        back for the last copy."""
        _, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.frames = max(frames, 0)
        if copied > 0 and (frames, copied) != self._last:  # the same again: nothing came
            self.checkpoints += 1
        self._last = (frames, copied)
        if frames < self.cap_frames:
            return
        # A busy writer appends while a checkpoint copies, so the WAL is never all copied when
        # the next write begins, and never starts again. Copy what came meanwhile (outside
        # the lock: most of it), then the little that came during that, holding writers back.
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        with self.writers:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.held += 1
