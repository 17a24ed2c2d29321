"""Run the hub as its own process (as in production), for the demo, benchmarks and tests."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Self

from simulators.services import ServiceError, free_port, stop_process


@dataclass
class HubProcess:
    """`watchpost hub` in a subprocess, stopped by PID; its log goes to `workdir/hub.log`."""

    workdir: Path
    broker_url: str
    registry: Path
    influx_url: str | None = None
    store_url: str | None = None
    http_port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        """Return the base URL of the hub's HTTP API."""
        return f"http://127.0.0.1:{self.http_port}"

    def command(self) -> list[str]:
        """Return the command line that starts the hub."""
        store = self.store_url or f"sqlite:///{self.workdir / 'hub.db'}"
        cmd = [
            sys.executable,
            "-m",
            "watchpost_cli",
            "hub",
            "--broker",
            self.broker_url,
            "--store",
            store,
            "--http",
            f"127.0.0.1:{self.http_port}",
            "--registry",
            str(self.registry),
        ]
        if self.influx_url:
            cmd += ["--influx", self.influx_url]
        return cmd + self.extra_args

    def start(self, timeout: float = 30.0) -> Self:
        """Start the hub and wait until /healthz answers."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "WATCHPOST_API_TOKEN": self.token, **self.env}
        log = (self.workdir / "hub.log").open("ab")
        self.proc = subprocess.Popen(
            self.command(), stdout=log, stderr=log, env=env, cwd=self.workdir
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = (self.workdir / "hub.log").read_text(errors="replace")[-3000:]
                raise ServiceError(f"hub exited with {self.proc.returncode}:\n{tail}")
            with contextlib.suppress(OSError, urllib.error.URLError, ValueError):
                self.get("/healthz", auth=False)
                return self
            time.sleep(0.1)
        raise ServiceError(f"hub did not answer /healthz within {timeout:.0f} s")

    def get(self, path: str, *, auth: bool = True) -> Any:
        """GET a JSON document from the hub's API."""
        req = urllib.request.Request(self.api + path)  # noqa: S310
        if auth:
            req.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
            body = resp.read()
        try:
            return json.loads(body)
        except ValueError:
            return body.decode()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop the hub gracefully by PID (SIGTERM), then SIGKILL after `timeout`."""
        stop_process(self.proc, timeout)
        self.proc = None

    def kill(self) -> None:
        """Kill the hub abruptly (SIGKILL), as a crash would."""
        stop_process(self.proc, 5, signal.SIGKILL)
        self.proc = None

    def again(self, keep_env: bool = False) -> HubProcess:
        """The same hub for a restart, not yet started: work folder, broker, registry, store,
        port, token and arguments; `env` only with `keep_env` (else it is a test hook of the
        first run, e.g. a crash before commit)."""
        env = dict(self.env) if keep_env else {}
        return replace(self, extra_args=list(self.extra_args), env=env, proc=None)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
