"""Node-RED, the peer of the telemetry benchmark: installed into `benchmarks/node-red/` on first
use (`npm ci`, from the pinned lock file), started on a free loopback port and stopped by PID.

The flow (`benchmarks/node-red/flow.json`) does the hub's telemetry job: mqtt in (its output
set to a parsed JSON object, as one would set it up, rather than a separate `json` node one
hop later) → function (one point per message, the same checks of
`v`, `readings` and the device as the topic's) → join (5,000 or 0.5 s) → `influxdb batch`
(InfluxDB 1.x). It does not look up a grid or check reading names, timestamps or numbers as
the hub does: a lighter job than the hub's. Its broker is `MQTT_BROKER` (127.0.0.1, or
`mqtt+unix://PATH`: the config node passes any URL with `://` to MQTT.js, 5.15 here, which
connects to PATH) and `MQTT_PORT`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

from simulators.services import ServiceError, free_port, stop_process

FOLDER = Path(__file__).resolve().parent.parent / "benchmarks" / "node-red"
RED_JS = FOLDER / "node_modules" / "node-red" / "red.js"


def install(timeout_s: float = 600) -> None:
    """Install Node-RED and the InfluxDB nodes into `benchmarks/node-red/` if they are missing."""
    if RED_JS.exists() and (FOLDER / "node_modules" / "node-red-contrib-influxdb").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise ServiceError("npm is not installed: Node-RED cannot be benchmarked")
    lock = (FOLDER / "package-lock.json").exists()
    cmd = [npm, "ci" if lock else "install", "--no-audit", "--no-fund", "--omit=dev"]
    done = subprocess.run(cmd, cwd=FOLDER, capture_output=True, timeout=timeout_s, check=False)
    if done.returncode != 0:
        raise ServiceError(f"{' '.join(cmd)} failed:\n{done.stderr.decode()[-2000:]}")


@dataclass
class NodeRed:
    """One Node-RED process running the bench flow against `mqtt_port` and `influx_port`."""

    workdir: Path
    mqtt_port: int
    influx_port: int
    database: str
    port: int = field(default_factory=free_port)
    mqtt_socket: Path | None = None
    """The broker's Unix socket: the flow's broker becomes `mqtt+unix://PATH` (MQTT.js ≥ 5)."""
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """Return the path of Node-RED's log."""
        return self.workdir / "node-red.log"

    def start(self, timeout_s: float = 60) -> Self:
        """Start Node-RED and wait until its flow runs and its MQTT node is connected."""
        install()
        node = shutil.which("node")
        if node is None:
            raise ServiceError("node is not installed: Node-RED cannot be benchmarked")
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "NODE_RED_PORT": str(self.port),
            "MQTT_PORT": str(self.mqtt_port),
            "MQTT_BROKER": (
                "127.0.0.1" if self.mqtt_socket is None else f"mqtt+unix://{self.mqtt_socket}"
            ),
            "INFLUX_PORT": str(self.influx_port),
            "INFLUX_DB": self.database,
        }
        log = self.log_path.open("ab")
        cmd = [node, str(RED_JS), "--settings", "settings.js", "--userDir", str(FOLDER)]
        self.proc = subprocess.Popen(
            [*cmd, "flow.json"], cwd=FOLDER, stdout=log, stderr=log, env=env
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text = self.log_path.read_text(errors="replace")
            if self.proc.poll() is not None:
                raise ServiceError(f"Node-RED exited with {self.proc.returncode}:\n{text[-2000:]}")
            if "Started flows" in text and "Connected to broker" in text:
                return self
            time.sleep(0.1)
        self.stop()
        raise ServiceError(f"Node-RED did not start within {timeout_s:.0f} s")

    def rss_mb(self) -> float:
        """Return the resident memory of the Node-RED process, in MiB."""
        if self.proc is None:
            return 0.0
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        """Stop Node-RED by PID."""
        stop_process(self.proc, 10)
        self.proc = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
