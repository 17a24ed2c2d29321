"""Run `watchpost watchdog` as its own process (as in production), for tests and demos."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from simulators.services import stop_process


@dataclass
class WatchdogProcess:
    """`watchpost watchdog` in a subprocess, stopped by PID; its log is `workdir/watchdog.log`."""

    workdir: Path
    site: str
    broker_url: str
    notify: list[str]
    args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """Return the watchdog's log file."""
        return self.workdir / "watchdog.log"

    def command(self) -> list[str]:
        """Return the command line that starts the watchdog."""
        cmd = [sys.executable, "-m", "watchpost_cli", "watchdog", "--site", self.site]
        # The URLs go in a file, as in production: Apprise URLs carry tokens, argv is public.
        urls = self.workdir / "notify.urls"
        return [*cmd, "--broker", self.broker_url, "--notify-file", str(urls), *self.args]

    def start(self) -> Self:
        """Start the watchdog (it needs no readiness check: silence is what it reports)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "notify.urls").write_text("\n".join(self.notify) + "\n", encoding="utf-8")
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=log, cwd=self.workdir)
        return self

    def stop(self) -> None:
        """Stop the watchdog by PID."""
        stop_process(self.proc, 5)
        self.proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
