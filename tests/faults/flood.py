"""A flood from one device, as its own process.

`python -m tests.faults.flood MODE PORT SITE DEVICE N SECONDS`: MODE `stuck` publishes N `call`
events (a stuck button), `junk` N malformed payloads (not JSON, an array, `v: 2`, 3,000-deep
nesting), spread evenly over SECONDS.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiomqtt

from protocol.codec import encode, new_event_id
from protocol.messages import Event, utcnow
from protocol.topics import device_topic

JUNK = [b"{not json", b"[1,2]", json.dumps({"v": 2}).encode(), b"[" * 3000]


async def flood(mode: str, port: int, site: str, device: str, n: int, seconds: float) -> None:
    """Publish the flood at QoS 1 and return when the broker has all of it."""
    topic = device_topic(site, device, "event")
    async with aiomqtt.Client("127.0.0.1", port, identifier=f"flood-{new_event_id()[-8:]}") as c:
        started = time.monotonic()
        for i in range(n):
            if mode == "junk":
                await c.publish(topic, JUNK[i % len(JUNK)], qos=1)
                continue
            sos = Event(
                id=new_event_id(),
                device=device,
                seq=i + 1,
                ts=utcnow(),
                kind="call",
                source="fault",
            )
            await c.publish(topic, encode(sos), qos=1)
            ahead = started + seconds * (i + 1) / n - time.monotonic()
            if ahead > 0:
                await asyncio.sleep(ahead)


def main() -> None:
    """Parse argv and flood."""
    mode, port, site, device, n, seconds = sys.argv[1:]
    asyncio.run(flood(mode, int(port), site, device, int(n), float(seconds)))


if __name__ == "__main__":
    main()
