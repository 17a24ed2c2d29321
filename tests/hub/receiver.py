"""Test kit of the hub tests: a local HTTP receiver for webhooks and Apprise json:// (127.0.0.1,
own thread), a per-test copy of the example site, and an in-process hub runner."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import httpx
import yaml
from pydantic import SecretStr

from hub.app import run
from hub.settings import HubSettings
from simulators.services import free_port


@dataclass(frozen=True)
class Request:
    """One request the receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Records every request; answers `status` (e.g. 500 to exercise retries)."""

    status: int = 200
    requests: list[Request] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """Return http://127.0.0.1:PORT."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def port(self) -> int:
        """Return the port the receiver listens on."""
        assert self._server is not None
        return int(self._server.server_address[1])

    def start(self) -> Self:
        """Listen on a free loopback port in a daemon thread."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(
                        Request("POST", self.path, dict(self.headers.items()), body)
                    )
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    async def wait_for(self, n: int = 1, within_s: float = 15.0) -> list[Request]:
        """Wait until `n` requests arrived (or fail) and return them."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= n:
                    return list(self.requests)
            await asyncio.sleep(0.02)
        raise AssertionError(f"receiver got {len(self.requests)} of {n} requests")


# --- a site folder and an in-process hub for hub tests -------------------------------------

SUNFLOWER = Path(__file__).resolve().parents[2] / "firmware-config" / "sites" / "sunflower"
TOKEN = "test-token-x7"
WEBHOOK_SECRET = "hook-secret"


def write_site(root: Path, site: str, notify: dict[str, list[str]] | None = None) -> Path:
    """Copy the sunflower registry as site `site`, adding `notify` URLs per worker id."""
    folder = root / f"site-{site}"
    (folder / "devices").mkdir(parents=True, exist_ok=True)
    doc = yaml.safe_load((SUNFLOWER / "site.yaml").read_text(encoding="utf-8"))
    doc["site"] = site
    for worker in doc["workers"]:
        worker["notify"] = (notify or {}).get(worker["id"], [])
    (folder / "site.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    for path in (SUNFLOWER / "devices").glob("*.yaml"):
        dev = yaml.safe_load(path.read_text(encoding="utf-8"))
        dev["site"] = site
        (folder / "devices" / path.name).write_text(
            yaml.safe_dump(dev, allow_unicode=True), encoding="utf-8"
        )
    return folder


def write_policy(root: Path, call_timeout_s: float) -> Path:
    """Write a policy whose call/fall tiers time out after `call_timeout_s`."""
    path = root / "policy.yaml"
    tiers = [["grid"], ["backup"], ["duty_officer"], ["supervisor"]]
    doc = {
        "escalation": {
            "call": {"tiers": tiers, "timeouts_s": [call_timeout_s]},
            "fall": {"tiers": tiers, "timeouts_s": [call_timeout_s]},
        }
    }
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def hub_settings(
    tmp: Path,
    broker_url: str,
    site_dir: Path,
    *,
    influx: str | None = None,
    database: str = "watchpost",
    **extra: Any,
) -> HubSettings:
    """Return settings for an in-process hub on free loopback ports, data under `tmp`."""
    return HubSettings(
        name=f"h{free_port()}",
        broker=broker_url,
        influx=influx,
        influx_database=database,
        influx_spill_dir=str(tmp / "spill"),
        store=f"sqlite:///{tmp / 'hub.db'}",
        http=f"127.0.0.1:{free_port()}",
        registry=site_dir,
        api_token=SecretStr(TOKEN),
        webhook_secret=SecretStr(WEBHOOK_SECRET),
        tick_s=0.2,
        shutdown_timeout_s=3.0,
        **extra,
    )


@contextlib.asynccontextmanager
async def running_hub(settings: HubSettings) -> AsyncIterator[httpx.AsyncClient]:
    """Run `hub.app.run(settings)` in a task; yield an API client once /healthz is OK."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(settings, stop), name="hub-under-test")
    base = f"http://{settings.http}"
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    ) as api:
        try:
            async with asyncio.timeout(30):
                while True:
                    if task.done():
                        task.result()
                        raise AssertionError("hub stopped during start-up")
                    with contextlib.suppress(httpx.HTTPError):
                        if (await api.get("/healthz")).status_code == 200:
                            break
                    await asyncio.sleep(0.05)
            yield api
        finally:
            stop.set()
            async with asyncio.timeout(15):
                await task


def metric(text: str, name: str, **labels: str) -> float:
    """Return one sample's value from Prometheus text (0 if absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        metric_name, _, label_part = key.partition("{")
        got = ",".join(sorted(label_part.rstrip("}").split(","))) if label_part else ""
        if metric_name == name and got == want:
            return float(value)
    return 0.0
