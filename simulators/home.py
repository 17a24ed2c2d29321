"""A virtual home: the real edge agent on gpiozero mock pins, fed synthetic sensor signals.

Each home owns its own `MockFactory`; buttons and the smoke relay are driven through the mock
pins, the accelerometer replays a synthetic timeline (a fall scheduled now) and the analog smoke
sensor plays a smoke curve. What the resident would see and hear is read back from the pins.
A home connects to its broker through its own `simulators.relay.Relay` (unless made with
`relay=False`), so that `go_silent` can cut its power: the relay resets the connection, the
broker publishes the agent's last will, and the agent stops without a flush or a goodbye.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from edge.agent import Agent
from protocol.device_config import ButtonConfig, DeviceConfig, OutputConfig
from simulators.relay import Relay
from simulators.signals import SmokeCurve, Timeline, smoke_curve, to_sensor

log = logging.getLogger(__name__)

PRESS_S = 0.15
"""How long a simulated finger holds a button (longer than any debounce we configure)."""


class TimelineAccel:
    """An AccelSource: the wearer rests upright, or replays a timeline scheduled at a time."""

    def __init__(
        self, seed: int = 0, *, noise_g: float = 0.015, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rng = random.Random(seed)
        self._noise = noise_g
        self._clock = clock
        self._timeline: Timeline | None = None
        self._start = 0.0
        self._index = 0
        self._pose = (0.08, 0.0, 0.0, 0.0, 0.0)

    def play(self, timeline: Timeline) -> None:
        """Start replaying `timeline` now; afterwards the wearer stays in its final posture."""
        self._timeline, self._start, self._index = timeline, self._clock(), 0

    @property
    def busy(self) -> bool:
        """Return True while a timeline is being replayed."""
        return self._timeline is not None

    def read(self) -> tuple[float, float, float]:
        """Return the current acceleration in g."""
        tl = self._timeline
        if tl is not None:
            t = self._clock() - self._start
            segs = tl.segments
            while (
                self._index < len(segs)
                and t >= segs[self._index].start + segs[self._index].duration
            ):
                self._index += 1
            if self._index < len(segs):
                seg = segs[self._index]
                self._pose = seg.fn(t - seg.start)
            else:
                self._timeline = None
                self._pose = (tl.theta, tl.phi, 0.0, 0.0, 0.0)
        x, y, z = to_sensor(self._pose)
        g = self._rng.gauss
        return x + g(0, self._noise), y + g(0, self._noise), z + g(0, self._noise)


class CurveLevel:
    """A LevelSource: an analog smoke sensor reading a baseline, or a curve started at a time."""

    def __init__(self, seed: int = 0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._rng = random.Random(seed)
        self._clock = clock
        self._curve: SmokeCurve | None = None
        self._start = 0.0
        self.baseline = 0.05

    def play(self, curve: SmokeCurve) -> None:
        """Start the curve now."""
        self._curve, self._start = curve, self._clock()

    @property
    def value(self) -> float:
        """Return the current level, 0.0-1.0."""
        base = (
            self.baseline if self._curve is None else self._curve.level(self._clock() - self._start)
        )
        return min(max(base + self._rng.gauss(0, 0.005), 0.0), 1.0)


class VirtualHome:
    """One device (home or stairwell unit) running the real `edge.agent.Agent`."""

    def __init__(
        self,
        config: DeviceConfig,
        *,
        seed: int = 0,
        password: str | None = None,
        relay: bool = True,
    ) -> None:
        # relay=False: the agent connects straight to the broker (one connection, as the
        # memory bench counts it), and the home cannot go silent.
        self.relay = Relay(config.broker.url) if relay else None
        if self.relay is not None:
            broker = config.broker.model_copy(update={"url": self.relay.url})
            config = config.model_copy(update={"broker": broker})
        self.config = config
        self.seed = seed
        self.factory = MockFactory()
        self.accel = TimelineAccel(seed)
        self.adc = CurveLevel(seed)
        Path(config.outbox.path).parent.mkdir(parents=True, exist_ok=True)
        self.agent = Agent(
            config,
            pin_factory=self.factory,
            accel=self.accel if config.inputs.accelerometer is not None else None,
            adc=self.adc if config.inputs.smoke_analog is not None else None,
            password=password,
        )
        self.silent = False
        self._falls = 0

    @property
    def device(self) -> str:
        """Return the device id."""
        return self.config.device

    async def run(self) -> None:
        """Run the agent (and its relay) until cancelled or the power is cut."""
        if self.relay is None:
            await self.agent.run()
            return
        async with self.relay:
            await self.agent.run()

    async def _press(self, button: ButtonConfig | None, what: str) -> None:
        if button is None:
            raise RuntimeError(f"{self.device} has no {what} button")
        mock = self.factory.pin(button.pin)
        # a pulled-up button connects the pin to ground when pressed, a pulled-down one to 3V3
        press, release = (
            (mock.drive_low, mock.drive_high)
            if button.pull_up
            else (mock.drive_high, mock.drive_low)
        )
        press()
        await asyncio.sleep(button.hold_s + PRESS_S)
        release()

    async def press_call(self) -> None:
        """Press and release the SOS button (held long enough for its hold_s)."""
        await self._press(self.config.inputs.call_button, "call")

    async def press_cancel(self) -> None:
        """Press and release the cancel button."""
        await self._press(self.config.inputs.cancel_button, "cancel")

    def fall(self, kind: str = "forward") -> Timeline:
        """Replay a fall of `kind` from walking; the resident lies 30 s, then gets up."""
        if self.config.inputs.accelerometer is None:
            raise RuntimeError(f"{self.device} has no accelerometer")
        self._falls += 1
        tl = Timeline(self.seed * 1000 + self._falls).walk(1.5).fall(kind)
        if kind != "recovery":
            tl.rest(30.0).get_up()
        self.accel.play(tl.rest(1.0))
        return tl

    async def wait_held(self, within: float) -> bool:
        """Wait until the agent holds an alarm in its cancel window; False after `within` s."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.agent.sensors.held is not None:
                return True
            await asyncio.sleep(0.05)
        return False

    def smoke(self, curve: str | SmokeCurve = "toast", *, scale: float = 1.0) -> SmokeCurve:
        """Start a smoke curve on the analog sensor (or close the relay while it is high)."""
        if isinstance(curve, str):
            curve = smoke_curve(curve, self.seed, scale=scale)
        if self.config.inputs.smoke_analog is not None:
            self.adc.play(curve)
        elif self.config.inputs.smoke_contact is not None:
            self.smoke_contact(True)
        else:
            raise RuntimeError(f"{self.device} has no smoke sensor")
        return curve

    def smoke_contact(self, alarm: bool) -> None:
        """Drive the smoke detector's relay contact into (or out of) alarm."""
        contact = self.config.inputs.smoke_contact
        if contact is None:
            raise RuntimeError(f"{self.device} has no smoke relay")
        pin = self.factory.pin(contact.pin)
        if alarm == contact.active_high:
            pin.drive_high()
        else:
            pin.drive_low()

    async def motion(self, sensor: str | None = None) -> None:
        """Trigger a wired motion/presence/door/bed sensor (the first one, or by name)."""
        fitted = [a for a in self.config.inputs.activity if sensor in (None, a.name)]
        if not fitted:
            raise ValueError(f"{self.device} has no activity sensor {sensor or ''}".rstrip())
        cfg = fitted[0]
        pin = self.factory.pin(cfg.pin)
        active_high = cfg.active_high if cfg.pull_up is None else not cfg.pull_up
        if active_high:
            pin.drive_high()
            await asyncio.sleep(PRESS_S)
            pin.drive_low()
        else:
            pin.drive_low()
            await asyncio.sleep(PRESS_S)
            pin.drive_high()

    def go_silent(self) -> None:
        """Cut the power: the connection dies without DISCONNECT (the broker sends the last
        will) and the agent stops without a flush or a goodbye."""
        if self.relay is None:
            raise RuntimeError(f"{self.device} runs without a relay: its power cannot be cut")
        self.silent = True
        self.relay.cut()
        self.agent.hard_stop()

    async def battery_low(self, pct: int) -> None:
        """Report a low backup battery through the agent (a `low_battery` event)."""
        await self.agent.emit("low_battery", "sim:battery", {"pct": pct})

    def _pin_on(self, section: str) -> bool:
        out: OutputConfig | None = getattr(self.config.outputs, section)
        if out is None:
            return False
        return bool(self.factory.pin(out.pin).state) == out.active_high

    @property
    def led_on(self) -> bool:
        """Return True while the status LED is lit (it may be blinking)."""
        return self._pin_on("led")

    @property
    def buzzer_on(self) -> bool:
        """Return True while the buzzer sounds (it may be beeping)."""
        return self._pin_on("buzzer")

    @property
    def siren_on(self) -> bool:
        """Return True while the building siren relay is on."""
        return self._pin_on("siren")

    @property
    def indicate_state(self) -> str:
        """Return the feedback state the agent shows (idle, sending, sent, ...)."""
        return str(self.agent.indicate_state)

    @property
    def connected(self) -> bool:
        """Return True while the agent is connected to the broker."""
        return bool(self.agent.connected)

    @property
    def outbox_pending(self) -> int:
        """Return the number of events waiting in the agent's outbox."""
        return self.agent.outbox_pending
