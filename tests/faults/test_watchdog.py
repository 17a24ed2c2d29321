"""Who watches the watcher: `watchpost watchdog` pages when the hub or the broker goes silent.

Real processes throughout: the broker from `watchpost config broker`, the hub and the watchdog
each as their own process; pages go to an Apprise json:// URL on a local HTTP receiver.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulators.hubproc import HubProcess
from simulators.site_broker import SiteBroker
from simulators.watchdogproc import WatchdogProcess
from tests.edge.conftest import until
from tests.hub.receiver import Receiver, write_site

pytestmark = pytest.mark.integration


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def pages(receiver: Receiver) -> list[dict[str, str]]:
    return [json.loads(r.body) for r in receiver.requests]


async def next_page(receiver: Receiver, seen: int, within_s: float = 20.0) -> dict[str, str]:
    await receiver.wait_for(seen + 1, within_s)
    return pages(receiver)[seen]


def processes(
    tmp_path: Path, site_id: str, receiver: Receiver
) -> tuple[SiteBroker, HubProcess, WatchdogProcess]:
    site = write_site(tmp_path, site_id)
    broker = SiteBroker(site, tmp_path / "site-broker").start()
    hub = HubProcess(
        tmp_path / "hub",
        broker.url,
        site,
        env={
            "WATCHPOST_BROKER_USERNAME": "hub",
            "WATCHPOST_BROKER_PASSWORD_FILE": str(broker.secrets.path("hub")),
            "WATCHPOST_HEARTBEAT_S": "1",
        },
    )
    watchdog = WatchdogProcess(
        tmp_path / "watchdog",
        site_id,
        broker.url,
        [f"json://127.0.0.1:{receiver.port}/duty"],
        [
            "--broker-username", "watchdog",
            "--broker-password-file", str(broker.secrets.path("watchdog")),
            "--grace-s", "4",
            "--broker-grace-s", "3",
        ],
    )  # fmt: skip
    broker.password("watchdog")
    return broker, hub, watchdog


async def all_running(hub: HubProcess, watchdog: WatchdogProcess, receiver: Receiver) -> None:
    await asyncio.to_thread(hub.start)
    watchdog.start()
    await until(
        lambda: "watchdog connected" in watchdog.log_path.read_text(errors="replace"),
        within=30,
        what="the watchdog to connect",
    )
    await asyncio.sleep(2)  # two heartbeats: the watchdog has seen the hub alive
    assert pages(receiver) == [], "a healthy hub and broker page nobody"


async def test_watchdog_pages_hub_death_return_and_broker_loss(
    tmp_path: Path, site_id: str, receiver: Receiver
) -> None:
    broker, hub, watchdog = processes(tmp_path, site_id, receiver)
    try:
        await all_running(hub, watchdog, receiver)

        killed = time.monotonic()
        await asyncio.to_thread(hub.kill)
        down = await next_page(receiver, 0)
        took = time.monotonic() - killed
        assert "hub" in down["title"] and "失联" in down["title"] and "silent" in down["title"]
        assert "offline" in down["message"] and "离线" in down["message"]

        restarted = time.monotonic()
        await asyncio.to_thread(hub.start)
        back = await next_page(receiver, 1)
        took_back = time.monotonic() - restarted
        assert "已恢复" in back["title"] and "is back" in back["title"]

        stopped = time.monotonic()
        broker.stop()
        lost = await next_page(receiver, 2)
        took_lost = time.monotonic() - stopped
        assert "MQTT" in lost["title"] and "失联" in lost["title"]
        broker.start()
        again = await next_page(receiver, 3)
        assert "MQTT" in again["title"] and "is back" in again["title"]
    finally:
        watchdog.stop()
        await asyncio.to_thread(hub.stop)
        broker.stop()
    print(f"watchdog pages: hub killed {took:.1f} s, hub back {took_back:.1f} s (incl. start-up), "
          f"broker stopped {took_lost:.1f} s")  # fmt: skip
    assert took < 10, f"the hub's death was paged after {took:.1f} s"


async def test_watchdog_pages_a_hub_that_hangs(
    tmp_path: Path, site_id: str, receiver: Receiver
) -> None:
    """A frozen hub keeps its TCP connection (no will for 1.5 keepalives): only silence shows."""
    broker, hub, watchdog = processes(tmp_path, site_id, receiver)
    try:
        await all_running(hub, watchdog, receiver)
        assert hub.proc is not None
        frozen = time.monotonic()
        os.kill(hub.proc.pid, signal.SIGSTOP)
        try:
            down = await next_page(receiver, 0)
            took = time.monotonic() - frozen
        finally:
            os.kill(hub.proc.pid, signal.SIGCONT)
        assert "no heartbeat" in down["message"] and "未收到中心服务心跳" in down["message"]
        back = await next_page(receiver, 1)
        assert "is back" in back["title"]
    finally:
        watchdog.stop()
        await asyncio.to_thread(hub.stop)
        broker.stop()
    print(f"watchdog pages: hub frozen (SIGSTOP) {took:.1f} s (grace 4 s)")
    assert took < 15
