"""Several `watchpost hub` processes in one share group, for the tests and `bench --hubs K`.

Each hub is its own process with its own name (`hub-1`, `hub-2`, …: its own MQTT client ids
and persistent session), one shared store (PostgreSQL) and one InfluxDB database, all on one
broker. The migrations and the registry are applied once before the hubs start together.
`kill(i)` is a SIGKILL, as a crash; `restart(i)` brings the same hub back (same name, session,
port), as systemd's `Restart=always` would.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from hub.store import Store
from protocol.codec import decode
from protocol.errors import ProtocolError
from protocol.messages import WorkerAlert
from protocol.site_config import load_site
from simulators.hubproc import HubProcess

GROUP = "hubs"


@dataclass
class HubGroup:
    """K hub processes sharing one broker, one store and one InfluxDB database."""

    workdir: Path
    broker_url: str
    registry: Path
    store_url: str
    size: int
    influx_url: str | None = None
    influx_db: str | None = None
    policy: Path | None = None
    group: str | None = GROUP
    env: dict[str, str] = field(default_factory=dict)
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    hubs: list[HubProcess] = field(default_factory=list)

    def _hub(self, i: int) -> HubProcess:
        args = ["--name", f"hub-{i + 1}"]
        if self.group is not None:
            args += ["--share-group", self.group]
        if self.policy is not None:
            args += ["--policy", str(self.policy)]
        env = {"WATCHPOST_SHUTDOWN_TIMEOUT_S": "2", **self.env}
        if self.influx_db is not None:
            env["WATCHPOST_INFLUX_DATABASE"] = self.influx_db
        return HubProcess(
            self.workdir / f"hub-{i + 1}",
            self.broker_url,
            self.registry,
            influx_url=self.influx_url,
            store_url=self.store_url,
            token=self.token,
            extra_args=args,
            env=env,
        )

    def start(self, timeout: float = 60.0) -> Self:
        """Start every hub and wait until each answers /healthz."""
        # Migrations and the registry once, here, so K hubs starting at once find them done.
        store = Store(self.store_url)
        try:
            store.migrate()
            store.import_registry(load_site(self.registry))
        finally:
            store.close()
        self.hubs = [self._hub(i) for i in range(self.size)]
        with ThreadPoolExecutor(self.size) as pool:
            list(pool.map(lambda h: h.start(timeout), self.hubs))
        return self

    def kill(self, i: int) -> None:
        """SIGKILL hub `i` (0-based), as a crash would."""
        self.hubs[i].kill()

    def restart(self, i: int, timeout: float = 60.0) -> float:
        """Start hub `i` again with its name, port and session; return seconds until /healthz."""
        hub = self.hubs[i].again(keep_env=True)
        started = time.monotonic()
        hub.start(timeout)
        self.hubs[i] = hub
        return time.monotonic() - started

    def stop(self) -> None:
        """Stop every hub that still runs (SIGTERM by PID, then SIGKILL), all at once."""
        running = [hub for hub in self.hubs if hub.proc is not None]
        with ThreadPoolExecutor(max(1, len(running))) as pool:
            list(pool.map(lambda h: h.stop(), running))

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class AlertLog:
    """Every worker alert seen on `…/worker/+/alert`: (alarm, worker, state, tier) counted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: Counter[tuple[str, str, str, int]] = Counter()
        self.first: dict[str, float] = {}
        """Wall time of each device's first `call` alert."""
        self.bad = 0

    def on_message(self, topic: str, payload: bytes, when: float) -> None:
        """Record one alert (runs in paho's thread)."""
        try:
            alert = decode("alert", payload)
        except ProtocolError:
            self.bad += 1
            return
        assert isinstance(alert, WorkerAlert)
        worker = topic.rsplit("/", 2)[-2]
        with self.lock:
            self.seen[(alert.alarm, worker, alert.state, alert.tier)] += 1
            if alert.cls == "call" and alert.device:
                self.first.setdefault(alert.device, when)

    def pages(self, tier: int, workers: Sequence[str] | None = None) -> Counter[str]:
        """Return how many tier-`tier` pages (not state updates) each alarm got."""
        with self.lock:
            out: Counter[str] = Counter()
            for (alarm, worker, state, t), n in self.seen.items():
                if (
                    t == tier
                    and state in ("raised", "notified")
                    and (workers is None or worker in workers)
                ):
                    out[alarm] += n
            return out
