"""The agent against a real Mosquitto: call button to broker, outages, restarts, status."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiomqtt
import pytest

from protocol.codec import decode, decode_event
from protocol.messages import Status
from simulators.relay import Relay
from simulators.services import Mosquitto
from tests.edge.conftest import DEVICE, Collector, device_config, running, until

pytestmark = pytest.mark.integration


def _statuses(coll: Collector) -> list[Status]:
    out = []
    for payload in coll.payloads("status"):
        msg = decode("status", payload, device=DEVICE)
        assert isinstance(msg, Status)
        out.append(msg)
    return out


def _last_state(coll: Collector) -> str | None:
    statuses = _statuses(coll)
    return statuses[-1].state if statuses else None


async def test_call_button_puts_a_valid_call_event_on_the_broker(
    tmp_path: Path, site_id: str, mosquitto: Mosquitto, collector: Collector
) -> None:
    config = device_config(tmp_path, site_id, mosquitto.url)
    async with running(config) as run:
        await until(lambda: run.agent.connected, what="connected")
        led = run.pin(5)
        run.pin(17).drive_low()
        await until(lambda: len(collector.on("event")) == 1, what="call event")
        event = decode_event(collector.payloads("event")[0], device=DEVICE)
        assert (event.kind, event.source, event.seq) == ("call", "gpio:call", 0)
        await until(lambda: run.agent.outbox_pending == 0, what="outbox drained")
        await until(lambda: run.agent.indicate_state == "sent", what="sent pattern")
        assert any(state.state for state in led.states), "the LED never lit"


async def test_event_survives_a_broker_restart_exactly_once(
    tmp_path: Path, site_id: str, mosquitto: Mosquitto, collector: Collector
) -> None:
    config = device_config(tmp_path, site_id, mosquitto.url)
    async with running(config) as run:
        await until(lambda: run.agent.connected, what="connected")
        mosquitto.stop()
        await until(lambda: not run.agent.connected, what="agent noticed the outage")
        run.pin(17).drive_low()
        await until(lambda: run.agent.outbox_pending == 1, what="event in the outbox")
        assert run.agent.indicate_state == "sending"
        mosquitto.start()
        await until(lambda: len(collector.on("event")) >= 1, within=20, what="replayed event")
        await until(lambda: run.agent.outbox_pending == 0, what="outbox drained")
        ids = [decode_event(p).id for p in collector.payloads("event")]
        assert len(set(ids)) == 1


async def test_event_survives_an_agent_restart_while_the_broker_is_down(
    tmp_path: Path, site_id: str, mosquitto: Mosquitto, collector: Collector
) -> None:
    config = device_config(tmp_path, site_id, mosquitto.url)
    mosquitto.stop()
    async with running(config, shutdown_timeout=1.0) as run:
        await run.agent.emit("call", "test", {"n": 1})
        assert run.agent.outbox_pending == 1
    mosquitto.start()
    async with running(config) as run:
        await until(lambda: len(collector.on("event")) >= 1, within=20, what="replayed event")
        await until(lambda: run.agent.outbox_pending == 0, what="outbox drained")
        await run.agent.emit("call", "test", {"n": 2})
        await until(lambda: len(collector.on("event")) >= 2, what="second event")
    events = [decode_event(p) for p in collector.payloads("event")]
    assert len({e.id for e in events}) == 2
    assert [e.seq for e in events] == [0, 1]


async def test_replay_keeps_seq_order_with_a_small_inflight_cap(
    tmp_path: Path, site_id: str, mosquitto: Mosquitto, collector: Collector
) -> None:
    config = device_config(tmp_path, site_id, mosquitto.url, broker={"max_inflight": 3})
    mosquitto.stop()
    async with running(config, shutdown_timeout=0.5) as run:
        for n in range(40):
            await run.agent.emit("test", "test", {"n": n})
        mosquitto.start()
        await until(
            lambda: len(collector.on("event")) >= 40,
            within=20,
            what=lambda: f"40 events, got {len(collector.on('event'))} {collector.messages[-3:]}",
        )
    seqs = [decode_event(p).seq for p in collector.payloads("event")]
    assert seqs == list(range(40))


async def test_status_online_on_connect_and_offline_on_graceful_stop(
    tmp_path: Path, site_id: str, mosquitto: Mosquitto, collector: Collector
) -> None:
    config = device_config(tmp_path, site_id, mosquitto.url, timing={"heartbeat_s": 30})
    async with running(config) as run:
        await until(lambda: len(collector.on("status")) >= 1, what="online status")
        first = _statuses(collector)[0]
        assert (first.state, first.heartbeat_s, first.fw) == ("online", 30, config.fw)
        assert collector.on("status")[0].retain is False  # live delivery clears the flag
        await run.stop()
    await until(lambda: _last_state(collector) == "offline", what="offline status")


async def test_a_power_cut_leaves_the_last_will_offline_retained(
    tmp_path: Path, site_id: str, mosquitto: Mosquitto, collector: Collector
) -> None:
    """The connection reset without DISCONNECT (the relay), the agent stopped without a word."""
    async with Relay(mosquitto.url) as relay:
        config = device_config(tmp_path, site_id, relay.url, bare=True)
        async with running(config) as run:
            await until(lambda: len(collector.on("status")) >= 1, what="online status")
            relay.cut()
            run.agent.hard_stop()
            async with asyncio.timeout(10):
                await run.task
            assert run.agent.outbox_pending == 0
    await until(lambda: len(collector.on("status")) >= 2, what="last will")
    assert _statuses(collector)[-1].state == "offline"
    async with aiomqtt.Client("127.0.0.1", mosquitto.port) as late:
        await late.subscribe(f"watchpost/v1/{site_id}/dev/{DEVICE}/status", qos=1)
        async with asyncio.timeout(5):
            message = await anext(aiter(late.messages))
    assert message.retain
    assert decode("status", bytes(message.payload)).state == "offline"  # type: ignore[attr-defined]


async def test_cancelling_run_still_flushes_and_goes_offline(
    tmp_path: Path, site_id: str, mosquitto: Mosquitto, collector: Collector
) -> None:
    config = device_config(tmp_path, site_id, mosquitto.url, bare=True)
    async with running(config) as run:
        await until(lambda: run.agent.connected, what="connected")
        await run.agent.emit("call", "test", {})
        run.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            async with asyncio.timeout(10):
                await run.task
        assert run.agent.outbox_pending == 0
    await until(lambda: _last_state(collector) == "offline", what="offline status")
    assert len(collector.on("event")) == 1


async def test_heartbeat_and_telemetry_are_published(
    tmp_path: Path, site_id: str, mosquitto: Mosquitto, collector: Collector
) -> None:
    config = device_config(
        tmp_path, site_id, mosquitto.url, bare=True, timing={"heartbeat_s": 1, "telemetry_s": 1}
    )
    async with running(config) as run:
        run.agent.availability("zigbee:0x00158D0001", online=True)
        await until(lambda: len(collector.on("status")) >= 2, what="a heartbeat")
        await until(lambda: len(collector.on("telemetry")) >= 1, what="telemetry")
    telemetry = decode("telemetry", collector.payloads("telemetry")[0], device=DEVICE)
    readings = telemetry.readings  # type: ignore[attr-defined]
    assert readings["outbox"] == 0 and readings["uptime_s"] >= 0
    assert readings["online.zigbee_0x00158d0001"] == 1.0
    assert collector.on("telemetry")[0].qos == 0
