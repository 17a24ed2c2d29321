"""The alarm path takes a whole backlog, not just the broker's in-flight window (issue #8,
lanes): an MQTT 5 client announcing a Receive Maximum is handed up to that many un-acked
messages whatever the broker's `max_inflight_messages` says, so the lanes can sort all of it.
Against a real Mosquitto configured with a window of 20."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

import aiomqtt

from hub.bus import BrokerAddress, Bus, Received
from protocol.topics import device_topic
from simulators.services import Mosquitto

N = 600


async def test_the_alarm_path_holds_more_unacked_messages_than_the_brokers_window(
    mosquitto_factory: Callable[..., Mosquitto], site_id: str
) -> None:
    broker = mosquitto_factory(extra="max_inflight_messages 20\n")
    bus = Bus(BrokerAddress("127.0.0.1", broker.port), "window", site=site_id, backoff_max_s=0.5)
    held: list[Received] = []
    enough = asyncio.Event()

    async def take_without_acking(batch: Sequence[Received]) -> None:
        held.extend(batch)
        if len(held) >= N:
            enough.set()

    task = asyncio.create_task(bus.run_batches("alarm", take_without_acking, max_batch=1000))
    try:
        async with asyncio.timeout(10):
            await bus.wait_alarm_path()
        async with aiomqtt.Client("127.0.0.1", broker.port, identifier="sender") as sender:
            for i in range(N):
                topic = device_topic(site_id, f"d{i}", "event")
                await sender.publish(topic, b"%d" % i, qos=1)
        async with asyncio.timeout(15):
            await enough.wait()
        assert [int(m.payload) for m in held] == list(range(N))  # all of it, in order
        assert not any(m.acked for m in held)
        for m in held:
            m.ack()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
