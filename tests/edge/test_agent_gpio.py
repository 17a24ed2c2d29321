"""The agent on gpiozero mock pins: buttons, smoke inputs, falls and the cancel window, cmds."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from protocol.codec import decode_event
from protocol.device_config import DeviceConfig
from protocol.messages import Event
from simulators.services import Mosquitto
from tests.edge.conftest import DEVICE, Collector, dead_url, device_config, running, until

UPRIGHT = (0.0, 0.0, 1.0)
LYING = (1.0, 0.0, 0.05)


class SyntheticFall:
    """An AccelSource replaying a fall, one sample per read: upright, free fall, impact, lying."""

    def __init__(self, rate_hz: float = 50.0) -> None:
        n = int(rate_hz)
        self.samples = (
            [UPRIGHT] * (n // 2)
            + [(0.0, 0.0, 0.2)] * int(0.3 * n)
            + [(2.5, 0.5, 2.5), (3.0, 0.5, 1.5)]
            + [LYING] * (n * 20)
        )
        self.reads = 0

    def read(self) -> tuple[float, float, float]:
        """Return the next sample; lying still once the trace is over."""
        sample = self.samples[min(self.reads, len(self.samples) - 1)]
        self.reads += 1
        return sample


class Level:
    """A LevelSource a test sets by hand."""

    def __init__(self) -> None:
        self.value = 0.0


FAST_FALL: dict[str, Any] = {
    "inputs": {
        "accelerometer": {"rate_hz": 50, "fall": {"settle_s": 0.2, "stillness_s": 0.5}},
    },
}


def stored(config: DeviceConfig) -> list[Event]:
    """Return the events waiting in the agent's outbox file, oldest first."""
    db = sqlite3.connect(config.outbox.path)
    try:
        rows = db.execute("SELECT payload FROM outbox WHERE cls = 'event' ORDER BY id").fetchall()
    finally:
        db.close()
    return [decode_event(bytes(r[0]), device=DEVICE) for r in rows]


def kinds(config: DeviceConfig) -> list[str]:
    """Return the kinds of the stored events."""
    return [e.kind for e in stored(config)]


async def test_fall_is_sent_after_the_cancel_window(tmp_path: Path) -> None:
    config = device_config(tmp_path, "s1", dead_url(), **FAST_FALL)
    async with running(config, accel=SyntheticFall(), shutdown_timeout=0.2) as run:
        await until(lambda: run.agent.indicate_state == "cancel_window", what="cancel window")
        assert kinds(config) == []
        assert any(s.state for s in run.pin(6).states[1:]), "the buzzer never beeped"
        await until(lambda: kinds(config) == ["fall"], what="fall after the window")
        fall = stored(config)[0]
        assert fall.source == "i2c:accel"
        assert isinstance(fall.data["peak_g"], float) and fall.data["peak_g"] > 2.2


async def test_cancel_press_in_the_window_sends_cancel_and_no_fall(tmp_path: Path) -> None:
    config = device_config(tmp_path, "s1", dead_url(), timing={"cancel_window_s": 5}, **FAST_FALL)
    async with running(config, accel=SyntheticFall(), shutdown_timeout=0.2) as run:
        await until(lambda: run.agent.indicate_state == "cancel_window", what="cancel window")
        run.pin(27).drive_low()
        await until(lambda: kinds(config) == ["cancel"], what="cancel event")
        assert stored(config)[0].data == {"cancelled": "fall"}
        assert run.agent.indicate_state == "cancelled"
        assert run.agent.sensors.held is None
    assert kinds(config) == ["cancel"]


async def test_cancel_after_a_call_reports_which_alarm(tmp_path: Path) -> None:
    config = device_config(tmp_path, "s1", dead_url())
    async with running(config, shutdown_timeout=0.2) as run:
        run.pin(17).drive_low()
        await until(lambda: kinds(config) == ["call"], what="call")
        assert run.agent.indicate_state == "sending"
        run.pin(27).drive_low()
        await until(lambda: kinds(config) == ["call", "cancel"], what="cancel")
        call, cancel = stored(config)
        assert cancel.data == {"cancelled": "call", "event": call.id}
        # Not "cancelled" yet: only the hub knows whether a worker is already on the way.
        assert run.agent.indicate_state == "sending"


async def test_held_call_button_ignores_a_tap(tmp_path: Path) -> None:
    config = device_config(
        tmp_path, "s1", dead_url(), inputs={"call_button": {"pin": 17, "hold_s": 0.3}}
    )
    async with running(config, shutdown_timeout=0.2) as run:
        button = run.pin(17)
        button.drive_low()
        button.drive_high()
        button.drive_low()
        await until(lambda: kinds(config) == ["call"], what="call after holding")
        button.drive_high()
    assert kinds(config) == ["call"]


async def test_smoke_contact_confirms_then_clears(tmp_path: Path) -> None:
    config = device_config(
        tmp_path, "s1", dead_url(), inputs={"smoke_contact": {"pin": 22, "confirm_s": 0.3}}
    )
    async with running(config, shutdown_timeout=0.2) as run:
        contact = run.pin(22)
        contact.drive_low()  # active low: alarm
        contact.drive_high()  # a glitch shorter than confirm_s
        contact.drive_low()
        await until(lambda: kinds(config) == ["smoke"], what="smoke")
        assert stored(config)[0].source == "gpio:smoke"
        contact.drive_high()
        await until(lambda: kinds(config) == ["smoke", "smoke_clear"], what="smoke_clear")


async def test_short_smoke_glitch_is_not_reported(tmp_path: Path) -> None:
    config = device_config(
        tmp_path, "s1", dead_url(), inputs={"smoke_contact": {"pin": 22, "confirm_s": 0.3}}
    )
    async with running(config, shutdown_timeout=0.2) as run:
        contact = run.pin(22)
        contact.drive_low()
        contact.drive_high()
        await asyncio.sleep(0.6)  # twice confirm_s: a broken confirmation would have fired
    assert kinds(config) == []


async def test_analog_smoke_through_the_detector(tmp_path: Path) -> None:
    config = device_config(
        tmp_path,
        "s1",
        dead_url(),
        inputs={"smoke_analog": {"warmup_s": 0, "sample_hz": 50, "confirm_samples": 3}},
    )
    level = Level()
    async with running(config, adc=level, shutdown_timeout=0.2) as run:
        level.value = 0.6
        await until(lambda: kinds(config) == ["smoke"], what="smoke")
        assert stored(config)[0].data["level"] == 0.6
        assert run.agent.sensors.smoke_level == 0.6
        level.value = 0.1
        await until(lambda: kinds(config) == ["smoke", "smoke_clear"], what="smoke_clear")


@pytest.mark.integration
async def test_commands_drive_feedback_siren_and_self_test(
    tmp_path: Path, site_id: str, mosquitto: Mosquitto, collector: Collector
) -> None:
    config = device_config(tmp_path, site_id, mosquitto.url)
    cmd_topic = f"watchpost/v1/{site_id}/dev/{DEVICE}/cmd"
    async with running(config) as run, aiomqtt.Client("127.0.0.1", mosquitto.port) as hub:
        await until(lambda: run.agent.connected, what="connected")

        async def send(payload: object) -> None:
            raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            await hub.publish(cmd_topic, raw, qos=1)

        await send(b"not json")
        await send({"v": 1, "cmd": "explode"})
        await until(lambda: run.agent.bad_commands == 2, what="bad commands counted")
        await send({"v": 1, "cmd": "indicate", "state": "acknowledged", "alarm": "a-1"})
        await until(lambda: run.agent.indicate_state == "acknowledged", what="indicate")
        assert run.pin(5).state is True  # steady: help is coming
        await send({"v": 1, "cmd": "siren", "on": True})
        await until(lambda: run.agent.siren_on, what="siren on")
        assert run.pin(13).state is True
        await send({"v": 1, "cmd": "siren", "on": False})
        await until(lambda: not run.agent.siren_on, what="siren off")
        assert run.pin(13).state is False
        await send({"v": 1, "cmd": "self_test", "request": "req-42"})
        await until(lambda: len(collector.on("event")) == 1, what="test event")
        event = decode_event(collector.payloads("event")[0], device=DEVICE)
        assert (event.kind, event.data) == ("test", {"request": "req-42"})
        await send({"v": 1, "cmd": "indicate", "state": "resolved"})
        await until(lambda: run.agent.indicate_state == "resolved", what="resolved")
        assert run.pin(5).state is False
        assert run.agent.connected


async def test_missing_accelerometer_is_reported_as_a_fault(tmp_path: Path) -> None:
    config = device_config(
        tmp_path, "s1", dead_url(), inputs={"accelerometer": {"bus": 987, "rate_hz": 50}}
    )
    async with running(config, shutdown_timeout=0.2) as run:
        await until(lambda: kinds(config) == ["fault"], what="fault event")
        fault = stored(config)[0]
        assert fault.source == "driver:accelerometer"
        run.pin(17).drive_low()  # the rest of the agent keeps working
        await until(lambda: kinds(config) == ["fault", "call"], what="call")
