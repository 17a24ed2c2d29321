"""Start real Mosquitto and InfluxDB 1.x servers on free loopback ports, stopped by PID.

Used by the test fixtures, `watchpost demo` and `watchpost bench`. Every server listens on
127.0.0.1 only and keeps its data in a directory the caller owns.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

# Mosquitto drops QoS 1 messages silently past max_queued_messages (1000 by default); the
# config Watchpost ships raises the limits (see docs/architecture.md).
BROKER_LIMITS = """\
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 1000
persistent_client_expiration 14d
sys_interval 1
set_tcp_nodelay true
"""


class ServiceError(RuntimeError):
    """A server could not be found, started or reached."""


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_binary(name: str, package: str) -> str:
    """Return the path of a server binary, or explain how to install it."""
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and Path(candidate).exists():
            return candidate
    raise ServiceError(
        f"{name} not found: install the Debian package '{package}' "
        f"(apt-get install -y {package}), or run 'make venv' which does it"
    )


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceError(f"{what} exited with code {proc.returncode} during start-up")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise ServiceError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


UNIX_PATH_MAX = 108
"""Bytes of `sun_path` on Linux, the terminating NUL included."""


def _wait_socket(path: Path, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServiceError(f"mosquitto exited with code {proc.returncode} during start-up")
        with (
            contextlib.suppress(OSError),
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s,
        ):
            s.settimeout(0.2)
            s.connect(str(path))
            return
        time.sleep(0.05)
    raise ServiceError(f"mosquitto did not listen on {path} within {timeout:.0f} s")


def stop_process(
    proc: subprocess.Popen[bytes] | None, timeout: float = 10.0, sig: int = signal.SIGTERM
) -> None:
    """Stop a server by PID: send `sig`, then SIGKILL if it still runs after `timeout`."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)


@dataclass
class Mosquitto:
    """A Mosquitto broker in `workdir`, with persistence, restartable on the same port.

    `extra` is appended to the generated config (ACL, password file, TLS listener, ...).
    `unix_socket`: also listen there (`listener 0 PATH`, after `extra`'s lines); the same
    password file and ACL apply to it.
    """

    workdir: Path
    port: int = field(default_factory=free_port)
    extra: str = ""
    limits: str = BROKER_LIMITS
    unix_socket: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the mqtt:// URL of the broker."""
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Return the path of the broker's log file."""
        return self.workdir / "mosquitto.log"

    def write_config(self) -> Path:
        """Write mosquitto.conf; a config without a listener line gets a plain one."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "mosquitto.conf"
        listener = "" if "listener" in self.extra else f"listener {self.port} 127.0.0.1\n"
        unix = ""
        if self.unix_socket is not None:
            if len(os.fsencode(self.unix_socket)) >= UNIX_PATH_MAX:
                raise ServiceError(f"{self.unix_socket}: too long for a Unix socket path")
            unix = f"listener 0 {self.unix_socket}\n"
        anonymous = "" if "allow_anonymous" in self.extra else "allow_anonymous true\n"
        # Started as root, Mosquitto drops to the `mosquitto` user, which cannot enter a 0700
        # temp dir: persistence and the log would silently stay off. Stay root instead.
        as_root = os.geteuid() == 0 and "\nuser " not in f"\n{self.extra}"
        anonymous += "user root\n" if as_root else ""
        conf.write_text(
            f"{listener}{anonymous}persistence true\n"
            f"persistence_location {self.workdir}/\n"
            f"autosave_interval 1\n"
            f"log_dest file {self.log_path}\n"
            f"log_type error\nlog_type warning\nlog_type notice\n"
            f"{self.limits}{self.extra}\n{unix}",
            encoding="utf-8",
        )
        return conf

    def start(self) -> Self:
        """Start the broker and wait until it accepts connections."""
        binary = find_binary("mosquitto", "mosquitto")
        conf = self.write_config()
        self.proc = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            _wait_port(self.port, self.proc, "mosquitto", 10)
            if self.unix_socket is not None:
                _wait_socket(self.unix_socket, self.proc, 5)
        except ServiceError as exc:
            log = (
                self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            )
            raise ServiceError(f"{exc}\n{log}") from exc
        return self

    def stop(self) -> None:
        """Stop the broker (SIGTERM by PID; it saves its persistence file)."""
        stop_process(self.proc)
        self.proc = None

    def kill(self) -> None:
        """Kill the broker abruptly (SIGKILL), as a power cut would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        """Stop and start again on the same port and store."""
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class Influxd:
    """An InfluxDB 1.x server (Debian's 1.6.7) with its data in `workdir`."""

    workdir: Path
    port: int = field(default_factory=free_port)
    rpc_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the HTTP URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def write_config(self) -> Path:
        """Write influxdb.conf with loopback-only ports and data under workdir."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "influxdb.conf"
        conf.write_text(
            f"""reporting-disabled = true
bind-address = "127.0.0.1:{self.rpc_port}"
[meta]
  dir = "{self.workdir}/meta"
[data]
  dir = "{self.workdir}/data"
  wal-dir = "{self.workdir}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  run-interval = "1s"
[logging]
  level = "warn"
""",
            encoding="utf-8",
        )
        return conf

    def start(self) -> Self:
        """Start influxd and wait until /ping answers."""
        binary = find_binary("influxd", "influxdb")
        conf = self.write_config()
        log = (self.workdir / "influxd.log").open("ab")
        self.proc = subprocess.Popen([binary, "-config", str(conf)], stdout=log, stderr=log)
        log.close()
        _wait_port(self.port, self.proc, "influxd", 20)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError, urllib.error.URLError),
                urllib.request.urlopen(f"{self.url}/ping", timeout=1) as resp,  # noqa: S310
            ):
                if resp.status == 204:
                    return self
            time.sleep(0.1)
        raise ServiceError("influxd did not answer /ping within 20 s")

    def query(self, q: str, db: str | None = None) -> dict[str, object]:
        """Run an InfluxQL statement through the v1 HTTP API and return the JSON answer."""
        import json

        params = {"q": q, **({"db": db} if db else {})}
        data = urllib.parse.urlencode(params).encode()
        with urllib.request.urlopen(f"{self.url}/query", data=data, timeout=10) as resp:  # noqa: S310
            result: dict[str, object] = json.loads(resp.read())
            return result

    def create_database(self, db: str) -> None:
        """Create a database (idempotent)."""
        self.query(f'CREATE DATABASE "{db}"')

    def stop(self) -> None:
        """Stop the server by PID."""
        stop_process(self.proc)
        self.proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _postgres_bindir() -> Path:
    """Return the directory holding initdb, postgres, psql (Debian keeps them off PATH)."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    if found and shutil.which("psql", path=str(Path(found).parent)):
        return Path(found).parent
    raise ServiceError(
        "initdb not found: install the Debian package 'postgresql' (apt-get install -y postgresql)"
    )


@dataclass
class Postgres:
    """A throw-away PostgreSQL cluster in `workdir`, listening on 127.0.0.1 only.

    The unix socket lives in `workdir` too. Started as root, the server runs as the `postgres`
    user (PostgreSQL refuses root), so `workdir` and its parents must be reachable by it:
    create it with `tempfile.mkdtemp()` rather than under pytest's private tmp dir. `fast`
    turns fsync off (tests and demos only).
    """

    workdir: Path
    port: int = field(default_factory=free_port)
    database: str = "watchpost"
    fast: bool = True
    run_as: str = "postgres"
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the SQLAlchemy URL of the default database."""
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        """Return the SQLAlchemy URL (psycopg 3) of one database of this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _user(self) -> str | None:
        return self.run_as if os.geteuid() == 0 else None

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            args, user=self._user(), capture_output=True, check=False, timeout=60
        )
        if result.returncode != 0:
            err = result.stderr.decode(errors="replace")[-2000:]
            raise ServiceError(f"{Path(args[0]).name} failed ({result.returncode}): {err}")

    def start(self) -> Self:
        """Create the cluster if needed, start the server and create `database`."""
        bindir = _postgres_bindir()
        data = self.workdir / "data"
        self.workdir.mkdir(parents=True, exist_ok=True)
        user = self._user()
        if user is not None:
            shutil.chown(self.workdir, user)
        if not (data / "PG_VERSION").exists():
            self._run(
                str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                "--auth=trust", "-E", "UTF8", "--no-sync",
            )  # fmt: skip
        options = [
            "-c", "listen_addresses=127.0.0.1", "-p", str(self.port),
            "-c", f"unix_socket_directories={self.workdir}",
        ]  # fmt: skip
        if self.fast:
            options += ["-c", "fsync=off", "-c", "synchronous_commit=off"]
            options += ["-c", "full_page_writes=off"]
        log = (self.workdir / "postgres.log").open("ab")
        self.proc = subprocess.Popen(
            [str(bindir / "postgres"), "-D", str(data), *options],
            stdout=log,
            stderr=log,
            user=user,
        )
        log.close()
        _wait_port(self.port, self.proc, "postgres", 30)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.create_database(self.database)
                return self
            except ServiceError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def create_database(self, database: str) -> None:
        """Create a database (idempotent); names are [a-z0-9_], 1-63 characters."""
        import re

        if not re.fullmatch(r"[a-z0-9_]{1,63}", database):
            raise ServiceError(f"database name {database!r}: use [a-z0-9_], 1-63 characters")
        bindir = _postgres_bindir()
        args = ("-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres")
        probe = subprocess.run(
            [str(bindir / "psql"), *args, "-d", "postgres", "-tAc",
             f"SELECT 1 FROM pg_database WHERE datname = '{database}'"],  # noqa: S608
            user=self._user(), capture_output=True, check=False, timeout=30,
        )  # fmt: skip
        if probe.returncode == 0 and probe.stdout.strip() == b"1":
            return
        self._run(str(bindir / "createdb"), *args, database)

    def stop(self) -> None:
        """Stop the server by PID (fast shutdown: SIGINT, then SIGKILL)."""
        stop_process(self.proc, 20, signal.SIGINT)
        self.proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
