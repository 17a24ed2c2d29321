"""The hub's own heartbeat: a retained `HubStatus` that `watchpost watchdog` watches.

Published on the alarm path every `heartbeat_s` (so a hub whose loop hangs stops refreshing
`ts`), with `offline` as the alarm path's last will (so a hub that dies shows `offline` at once)
and `offline` again on a graceful stop. See docs/protocol.md, HubStatus.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

from hub.bus import Bus, BusError
from protocol.codec import encode
from protocol.messages import HubStatus, utcnow
from protocol.topics import hub_topic

log = logging.getLogger(__name__)


class Heartbeat:
    """Publish one hub's status on `watchpost/v1/{site}/hub/{name}/status`."""

    def __init__(self, site: str, name: str, every_s: float) -> None:
        self.topic = hub_topic(site, name)
        self.name = name
        self.every_s = every_s
        self._started = time.monotonic()
        self.sent = 0

    def payload(self, online: bool) -> bytes:
        """Return the status payload now (`offline` is also the alarm path's last will)."""
        return encode(
            HubStatus(
                hub=self.name,
                ts=utcnow(),
                state="online" if online else "offline",
                uptime_s=round(time.monotonic() - self._started, 1),
                heartbeat_s=self.every_s,
            )
        )

    async def run(self, bus: Bus) -> None:
        """Publish `online` every `every_s`, and at once after the alarm path reconnects."""
        while True:
            await bus.wait_alarm_path()
            connects = bus.reconnects["alarm"]
            try:
                await bus.publish(self.topic, self.payload(True), retain=True, wait_s=self.every_s)
                self.sent += 1
            except BusError as exc:
                log.info("hub heartbeat not published: %s", exc)
            # A reconnect may have followed the broker firing our will (`offline`): say
            # `online` again at once rather than after a full interval.
            step = min(0.25, self.every_s)
            for _ in range(max(1, math.ceil(self.every_s / step))):
                if bus.reconnects["alarm"] != connects:
                    break
                await asyncio.sleep(step)

    async def stop(self, bus: Bus, within_s: float = 1.0) -> None:
        """Publish `offline` on a graceful stop (the last will covers crashes)."""
        try:
            await bus.publish(self.topic, self.payload(False), retain=True, wait_s=within_s)
        except BusError as exc:
            log.warning("could not publish the hub's offline status: %s", exc)
