"""A Mosquitto started exactly as an operator would: `watchpost config broker`, then `mosquitto -c`.

`SiteBroker` writes the site's broker folder with `provision.broker` (plain and TLS listeners on
free loopback ports, pilot CA) and runs `mosquitto -c DIR/mosquitto.conf` untouched, stopped by
PID. `credentials(user)` returns what a client of that user needs, read from the secrets folder.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from provision.broker import BrokerFiles, Listen, write_broker_config
from provision.secret_store import SecretStore
from simulators.services import ServiceError, find_binary, free_port, stop_process


@dataclass
class SiteBroker:
    """The broker of one site folder, configured by `watchpost config broker`."""

    site_dir: Path
    workdir: Path
    port: int = field(default_factory=free_port)
    tls_port: int = field(default_factory=free_port)
    files: BrokerFiles | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def secrets(self) -> SecretStore:
        """Return the secrets folder the config was written with."""
        return SecretStore(self.workdir / "secrets")

    @property
    def url(self) -> str:
        """Return the plain mqtt:// URL (loopback)."""
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        """Return the mqtts:// URL."""
        return f"mqtts://127.0.0.1:{self.tls_port}"

    @property
    def ca_file(self) -> Path:
        """Return the pilot CA clients must trust."""
        return self.workdir / "broker" / "ca.crt"

    def password(self, user: str) -> str:
        """Return the password of `user` (the hub's two users share the hub's)."""
        return self.secrets.get_or_create("hub" if user.startswith("hub-") else user)

    def configure(self) -> BrokerFiles:
        """Run `watchpost config broker` (as a library call) into `workdir/broker`."""
        self.files = write_broker_config(
            self.site_dir,
            self.workdir / "broker",
            self.secrets,
            plain=Listen("127.0.0.1", self.port),
            tls=Listen("127.0.0.1", self.tls_port),
        )
        return self.files

    @property
    def conf(self) -> Path:
        """Return `DIR/mosquitto.conf` (DIR = `workdir/broker`)."""
        return self.workdir / "broker" / "mosquitto.conf"

    def start(self, timeout: float = 10.0) -> Self:
        """Start `mosquitto -c DIR/mosquitto.conf` (written first if absent); wait for its ports."""
        if self.files is None and not self.conf.exists():
            self.configure()
        log = (self.workdir / "mosquitto.stderr").open("ab")
        self.proc = subprocess.Popen(
            [find_binary("mosquitto", "mosquitto"), "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        log.close()
        deadline = time.monotonic() + timeout
        for port in (self.port, self.tls_port):
            while not _accepts(port):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    tail = (self.workdir / "mosquitto.stderr").read_text(errors="replace")[-2000:]
                    self.stop()
                    raise ServiceError(f"mosquitto -c {self.conf} did not start:\n{tail}")
                time.sleep(0.05)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the broker by PID (SIGTERM saves the persistence file)."""
        stop_process(self.proc, 10, sig)
        self.proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False
