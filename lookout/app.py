"""The watchdog process: settings, then one TaskGroup (connection, judge, pager).

`run(settings)` watches until cancelled; every notice of `lookout.watcher` is paged in order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from lookout.pager import Pager
from lookout.session import BROKER_UPTIME, Endpoint, WatchSession
from lookout.watcher import Notice, Watcher
from protocol.codec import decode
from protocol.errors import ProtocolError
from protocol.messages import HubStatus
from protocol.topics import ID_PATTERN, hub_filter

log = logging.getLogger(__name__)


class WatchdogSettings(BaseModel):
    """What `watchpost watchdog` needs (flags or WATCHPOST_WATCHDOG_* variables)."""

    model_config = ConfigDict(extra="forbid")

    site: str = Field(pattern=ID_PATTERN, description="Site whose hubs are watched")
    broker: str = Field(
        "mqtt://127.0.0.1:1883",
        pattern=r"^mqtts?://[^/\s:]+(:\d{1,5})?/?$",
        description="mqtt://host:port or mqtts://host:port",
    )
    broker_ca_file: Path | None = Field(None, description="CA of the broker (mqtts)")
    broker_username: str | None = Field(None, description="MQTT user (`watchdog`)")
    broker_password_file: Path | None = Field(None, description="File holding the MQTT password")
    hubs: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(
        default_factory=lambda: ["hub"], description="Hub names to expect"
    )
    notify: list[str] = Field(min_length=1, description="Apprise URLs of the duty officer")
    grace_s: float = Field(15.0, gt=0, description="Hub silent after this long without heartbeat")
    broker_grace_s: float = Field(10.0, gt=0, description="Broker silent after this long")
    check_s: float = Field(0.5, gt=0, le=10, description="How often the rules are applied")

    def endpoint(self) -> Endpoint:
        """Return the broker endpoint, reading the password file now."""
        password = None
        if self.broker_password_file is not None:
            password = self.broker_password_file.read_text(encoding="utf-8").strip()
        return Endpoint(self.broker, self.broker_username, password, self.broker_ca_file)


class Watchdog:
    """Feed what the session sees to the watcher; page what it concludes."""

    def __init__(self, settings: WatchdogSettings, pager: Pager) -> None:
        self.settings = settings
        self.pager = pager
        self.watcher = Watcher(
            tuple(settings.hubs), settings.grace_s, settings.broker_grace_s, time.monotonic()
        )
        self.notices: asyncio.Queue[Notice] = asyncio.Queue()
        self.rejected = 0

    def on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        """Take one message from the session."""
        now = time.monotonic()
        if topic == BROKER_UPTIME:
            self.watcher.on_broker_tick(now)
            return
        try:
            status = decode("hub_status", payload)
        except ProtocolError as exc:
            self.rejected += 1
            log.debug("watchdog: status on %s rejected: %s", topic, exc)
            return
        assert isinstance(status, HubStatus)
        self.watcher.on_hub_status(status, retained, now)

    async def judge(self) -> None:
        """Apply the rules every `check_s` and queue what changed."""
        while True:
            for notice in self.watcher.check(time.monotonic()):
                log.warning("watchdog: %s", notice.title)
                self.notices.put_nowait(notice)
            await asyncio.sleep(self.settings.check_s)

    async def send(self) -> None:
        """Page each notice, in order."""
        while True:
            notice = await self.notices.get()
            await self.pager.page(notice)


async def run(settings: WatchdogSettings) -> None:
    """Watch until cancelled."""
    dog = Watchdog(settings, Pager(settings.notify))
    session = WatchSession(
        settings.endpoint(),
        [hub_filter(settings.site), BROKER_UPTIME],
        dog.on_message,
        on_up=lambda: dog.watcher.on_connected(time.monotonic()),
        on_down=dog.watcher.on_disconnected,
    )
    log.info("watchdog: watching site %s, hubs %s", settings.site, ", ".join(settings.hubs))
    async with asyncio.TaskGroup() as tg:
        tg.create_task(session.run(), name="watchdog-session")
        tg.create_task(dog.judge(), name="watchdog-judge")
        tg.create_task(dog.send(), name="watchdog-pager")
