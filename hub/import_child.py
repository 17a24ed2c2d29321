"""The registry import process (`hub.store.registry_import`), started as early as the hub can.

A hub with a large registry (more than `CHILD_IMPORT_FILES` device files) parses and imports a
changed one in a child process. `watchpost hub` starts it first thing (this module loads none
beyond what the CLI has loaded), with the folder: it loads its modules and parses at once,
while the hub fingerprints the folder and migrates the store (`hub.registry_start`). The hub
then sends its request on stdin, waits until it says it has parsed (its parsers had both
cores), and loads its own modules while the process writes. It is stopped unasked (stdin
closed, then killed) if the store already holds this registry. It is started early only when
the registry looks changed since its import mark was written (`looks_changed`); a restart on
an unchanged registry then starts no process at all.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from protocol.site_config import device_names

if TYPE_CHECKING:
    from hub.settings import HubSettings

log = logging.getLogger(__name__)

STOP_WAIT_S = 5.0
"""How long an import process not needed may take to stop its parsers and exit."""
CHILD_IMPORT_FILES = 2_000
"""Above this many device files a changed registry is parsed and imported by a child process
(`hub.store.registry_import`), which forks parsers over the cores."""


def state_dir(settings: HubSettings) -> Path:
    """Where the hub keeps its small state files (the import mark)."""
    if settings.state_dir:
        return Path(settings.state_dir)
    if settings.store.startswith("sqlite:///"):
        return Path(settings.store.removeprefix("sqlite:///")).parent
    return Path("var")


def mark_path(settings: HubSettings) -> Path:
    """The registry import mark's file (`hub.store.registry.ImportMark`)."""
    return state_dir(settings) / "registry-import.json"


def looks_changed(settings: HubSettings) -> bool:
    """Whether the registry may have changed since its import: no import mark, or `site.yaml`
    or the devices folder modified after it. A guess (a device file edited in place does not
    touch its folder): it only decides whether to start the import process early; the hub
    then decides by the folder's fingerprint, and starts it late if the guess was wrong."""
    assert settings.registry is not None
    try:
        marked = mark_path(settings).stat().st_mtime_ns
    except OSError:
        return True
    for path in (settings.registry / "site.yaml", settings.registry / "devices"):
        try:
            if path.stat().st_mtime_ns >= marked:
                return True
        except OSError:
            return True
    return False


def is_large(folder: Path | None) -> bool:
    """Whether a changed registry in `folder` is imported by a child process."""
    return folder is not None and len(device_names(folder)) > CHILD_IMPORT_FILES


class ImportChild:
    """One `hub.store.registry_import` process, waiting for its request."""

    def __init__(self, proc: subprocess.Popen[bytes], folder: Path | None = None) -> None:
        self.proc = proc
        self._parsing = folder is not None
        """Started with a folder: it writes a line on stdout once parsed (`parsed`)."""

    @classmethod
    def start(cls, folder: Path | None = None) -> ImportChild | None:
        """Start the process; None (and a warning) if it cannot be started. Given `folder`,
        it starts parsing that registry at once, before it is asked to import it."""
        # The child imports what this process imports, from the same places.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        command = [sys.executable, "-m", "hub.store.registry_import"]
        if folder is not None:
            command.append(str(folder))
        try:
            proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        except OSError as exc:
            log.warning("cannot start the registry import process (%r); importing here", exc)
            return None
        return cls(proc, folder)

    def send(self, request: dict[str, Any]) -> None:
        """Send the import request (and close stdin); `result` waits for the import."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request).encode())
        self.proc.stdin.close()

    def parsed(self) -> None:
        """Wait until the process has parsed the folder it was started with (or has died)."""
        assert self.proc.stdout is not None
        if self._parsing:
            self.proc.stdout.readline()
            self._parsing = False

    def result(self) -> tuple[int, bytes]:
        """Wait for the import asked by `send`; return (exit code, what it printed)."""
        assert self.proc.stdout is not None
        self.parsed()
        out = self.proc.stdout.read()
        return self.proc.wait(), out

    def stop(self) -> None:
        """Stop the process if it is still running (not needed, or the hub is stopping): its
        stdin closed without a request, it stops its parsers and exits (`NOT_ASKED`); killed
        if it has not within `STOP_WAIT_S`."""
        if self.proc.poll() is None:
            if self.proc.stdin is not None and not self.proc.stdin.closed:
                with contextlib.suppress(OSError):
                    self.proc.stdin.close()
            try:
                self.proc.wait(STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
