"""Batches on disk while InfluxDB is down, back-filled in order when it returns.

Each batch is one file `<seq>.lp` of line protocol, written to `<seq>.tmp`, fsync'd, renamed
and the directory fsync'd, so a file with the `.lp` suffix is always complete. Files left by
an earlier run are picked up on `load()`; a `.tmp` left by a crash keeps its complete lines.
When the files pass a size bound the oldest are deleted (a ring buffer: the newest data
survives a long outage) and their points counted as lost. Blocking file I/O: call these methods
through `asyncio.to_thread`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections import deque
from pathlib import Path

log = logging.getLogger(__name__)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SpillStore:
    """A directory of spilled batches, oldest first."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files: deque[Path] = deque()
        self._sizes: dict[Path, int] = {}
        self._bytes = 0  # sum of _sizes, readable from the event loop without the lock
        self._busy: Path | None = None  # being back-filled: never evicted
        self._next = 1
        self._lock = threading.Lock()

    @property
    def size_bytes(self) -> int:
        """Return the bytes the waiting files take."""
        return self._bytes

    def load(self) -> int:
        """Pick up the files of an earlier run; return how many batches are waiting."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for tmp in sorted(self.directory.glob("*.tmp")):
            self._salvage(tmp)
        with self._lock:
            found = [p for p in self.directory.glob("*.lp") if p.stem.isdigit()]
            found.sort(key=lambda p: int(p.stem))
            self._files = deque(found)
            self._sizes = {p: p.stat().st_size for p in found}
            self._bytes = sum(self._sizes.values())
            self._next = int(found[-1].stem) + 1 if found else 1
            return len(found)

    def _salvage(self, tmp: Path) -> None:
        text = tmp.read_text(encoding="utf-8", errors="replace")
        complete = text[: text.rfind("\n") + 1]
        if complete:
            tmp.write_text(complete, encoding="utf-8")
            tmp.replace(tmp.with_suffix(".lp"))
            log.warning("kept %d complete lines of an interrupted spill file", complete.count("\n"))
        else:
            tmp.unlink()

    def __len__(self) -> int:
        return len(self._files)

    def append(self, lines: list[str], max_bytes: int | None = None) -> int:
        """Write one batch durably as the newest file; return points evicted to fit max_bytes."""
        data = "".join(f"{line}\n" for line in lines).encode()
        with self._lock:
            seq, self._next = self._next, self._next + 1
            path = self.directory / f"{seq:016d}.lp"
            tmp = path.with_suffix(".tmp")
            with tmp.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(path)
            _fsync_dir(self.directory)
            self._files.append(path)
            self._sizes[path] = len(data)
            self._bytes += len(data)
            return self._evict(max_bytes) if max_bytes is not None else 0

    def _evict(self, max_bytes: int) -> int:
        evicted = 0
        for path in list(self._files)[:-1]:  # the newest file always stays
            if self._bytes <= max_bytes:
                break
            if path == self._busy:
                continue
            evicted += path.read_bytes().count(b"\n")
            path.unlink(missing_ok=True)
            self._files.remove(path)
            self._bytes -= self._sizes.pop(path)
        return evicted

    def oldest(self) -> Path | None:
        """Return the oldest waiting file, or None."""
        with self._lock:
            return self._files[0] if self._files else None

    def read(self, path: Path, *, claim: bool = False) -> list[str]:
        """Return the points of a file ([] if evicted); `claim` keeps it until removed."""
        with self._lock:
            if claim:
                self._busy = path
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                return []
        return [line for line in text.split("\n") if line]

    def remove(self, path: Path) -> None:
        """Delete a file once its points are in InfluxDB."""
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        with self._lock, contextlib.suppress(ValueError):
            self._busy = None if self._busy == path else self._busy
            self._bytes -= self._sizes.pop(path, 0)
            self._files.remove(path)
