"""Batches on disk while InfluxDB is down, back-filled in order when it returns.

Each batch is one file `<seq>.lp` of line protocol, written to `<seq>.tmp`, fsync'd, renamed
and the directory fsync'd, so a file with the `.lp` suffix is always complete. Files left by
an earlier run are picked up on `load()`; a `.tmp` left by a crash keeps its complete lines.
Blocking file I/O: call these methods through `asyncio.to_thread`.
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
        self._next = 1
        self._lock = threading.Lock()

    def load(self) -> int:
        """Pick up the files of an earlier run; return how many batches are waiting."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for tmp in sorted(self.directory.glob("*.tmp")):
            self._salvage(tmp)
        with self._lock:
            found = sorted(self.directory.glob("*.lp"), key=lambda p: int(p.stem))
            self._files = deque(found)
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

    def append(self, lines: list[str]) -> Path:
        """Write one batch durably as the newest file."""
        with self._lock:
            seq, self._next = self._next, self._next + 1
            path = self.directory / f"{seq:016d}.lp"
            tmp = path.with_suffix(".tmp")
            with tmp.open("w", encoding="utf-8") as fh:
                fh.write("".join(f"{line}\n" for line in lines))
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(path)
            _fsync_dir(self.directory)
            self._files.append(path)
            return path

    def oldest(self) -> Path | None:
        """Return the oldest waiting file, or None."""
        with self._lock:
            return self._files[0] if self._files else None

    def read(self, path: Path) -> list[str]:
        """Return the points of one file."""
        return [line for line in path.read_text(encoding="utf-8").split("\n") if line]

    def remove(self, path: Path) -> None:
        """Delete a file once its points are in InfluxDB."""
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        with self._lock, contextlib.suppress(ValueError):
            self._files.remove(path)
