"""Turn what the inputs see into events: buttons, smoke relay, analog smoke, falls.

Rules that live here:

* The call button raises `call` at once (no cancel window); smoke too (after confirm_s).
* A fall is held back for `cancel_window_s` with the cancel-window pattern; a cancel press in
  that window publishes `cancel` {"cancelled": "fall"} instead of the fall.
* A cancel press while an alarm this device raised is still open publishes `cancel`
  {"cancelled": KIND, "event": ID}; the hub decides what to do with it (cancel it, or tell the
  worker on the way "the resident says OK") and tells the device.
* A cancel press with nothing held or open is the resident's daily check-in ("我很好 / I'm OK"):
  an `activity` event {"what": "checkin"}.
* Motion, presence, door and bed inputs report activity (rate-limited by the agent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from edge.fall import FallDetector
from edge.feedback import Feedback
from edge.hardware import AccelSource, LevelSource
from edge.smoke import AnalogSmokeDetector
from protocol.device_config import DeviceConfig
from protocol.messages import EventKind, Scalar

log = logging.getLogger(__name__)

Emit = Callable[[EventKind, str, dict[str, Scalar]], Awaitable[str]]
"""Store an event durably and return its id."""
Activity = Callable[[str, str], Awaitable[None]]
"""Note activity seen by (source, what)."""

RESIDENT_ALARMS: frozenset[str] = frozenset({"call", "fall", "smoke", "inactivity"})
"""Kinds that show the sending/sent patterns and that a cancel press can refer to."""


@dataclass(frozen=True, slots=True)
class Signal:
    """Something an input saw: `name` is call, cancel, smoke_on or smoke_off."""

    name: str
    t: float


class SignalQueue:
    """Carry input signals from gpiozero threads into the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.queue: asyncio.Queue[Signal] = asyncio.Queue()

    def post(self, name: str) -> None:
        """Queue a signal; safe to call from any thread (the one thread crossing)."""
        self._loop.call_soon_threadsafe(self.queue.put_nowait, Signal(name, time.monotonic()))


@dataclass(slots=True)
class HeldAlarm:
    """A detected alarm waiting out its cancel window."""

    kind: EventKind
    source: str
    data: dict[str, Scalar]
    deadline: float


@dataclass(slots=True)
class _State:
    held: HeldAlarm | None = None
    open_kind: str | None = None
    open_id: str | None = None
    contact_since: float | None = None
    smoke_reported: bool = False
    smoke_level: float | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    contact_changed: asyncio.Event = field(default_factory=asyncio.Event)


class Sensors:
    """The input side of one agent; `tasks()` yields the coroutines the agent runs."""

    def __init__(
        self,
        config: DeviceConfig,
        emit: Emit,
        feedback: Feedback,
        signals: SignalQueue,
        *,
        smoke_contact: Callable[[], bool] | None = None,
        accel: AccelSource | None = None,
        adc: LevelSource | None = None,
        clock: Callable[[], float] = time.monotonic,
        activity: Activity | None = None,
    ) -> None:
        self.config = config
        self._activity = activity
        self._emit = emit
        self._feedback = feedback
        self._signals = signals
        self._smoke_contact = smoke_contact
        self._accel = accel
        self._adc = adc
        self._clock = clock
        self._s = _State()
        self.sample_errors = 0

    @property
    def smoke_level(self) -> float | None:
        """Return the last analog smoke level (0-1), None without an analog sensor."""
        return self._s.smoke_level

    @property
    def held(self) -> HeldAlarm | None:
        """Return the alarm currently in its cancel window, if any."""
        return self._s.held

    def tasks(self) -> list[tuple[str, Coroutine[Any, Any, None]]]:
        """Return (name, coroutine) for every input task this device needs."""
        out: list[tuple[str, Coroutine[Any, Any, None]]] = [
            ("signals", self._consume()),
            ("cancel-window", self._hold()),
        ]
        if self._smoke_contact is not None:
            out.append(("smoke-contact", self._watch_contact()))
        accel_cfg = self.config.inputs.accelerometer
        if self._accel is not None and accel_cfg is not None:
            out.append(("fall-sampling", self._sample_accel(self._accel)))
        if self._adc is not None and self.config.inputs.smoke_analog is not None:
            out.append(("smoke-sampling", self._sample_smoke(self._adc)))
        return out

    async def raise_alarm(self, kind: EventKind, source: str, data: dict[str, Scalar]) -> None:
        """Publish a resident alarm now and remember it as the one a cancel press refers to."""
        event_id = await self._emit(kind, source, data)
        self._s.open_kind, self._s.open_id = kind, event_id

    async def hold_alarm(self, kind: EventKind, source: str, data: dict[str, Scalar]) -> None:
        """Hold an alarm for the cancel window (fall, inactivity); raise it now if that is 0."""
        window = self.config.timing.cancel_window_s
        if window <= 0:
            await self.raise_alarm(kind, source, data)
            return
        if self._s.held is not None:
            await self.release_held()
        loop = asyncio.get_running_loop()
        self._s.held = HeldAlarm(kind, source, data, loop.time() + window)
        self._feedback.show("cancel_window")
        self._s.changed.set()

    async def release_held(self) -> None:
        """Publish the held alarm now (window expired, another alarm, or shutdown)."""
        held, self._s.held = self._s.held, None
        if held is not None:
            await self.raise_alarm(held.kind, held.source, held.data)

    def alarm_closed(self) -> None:
        """Forget the open alarm (the hub said resolved or cancelled)."""
        self._s.open_kind = self._s.open_id = None

    async def cancel_pressed(self) -> None:
        """Handle the cancel button: cancel the held alarm, or report a cancel of the open one."""
        held, self._s.held = self._s.held, None
        if held is not None:
            self._s.changed.set()
            self._feedback.show("cancelled")
            await self._emit("cancel", "gpio:cancel", {"cancelled": held.kind})
            return
        if self._s.open_kind is None:
            log.info("cancel pressed with nothing open: check-in / 签到：我很好")
            self._feedback.show("checked_in")
            await self._emit("activity", "gpio:cancel", {"what": "checkin"})
            return
        data: dict[str, Scalar] = {"cancelled": self._s.open_kind, "event": self._s.open_id}
        # The hub decides (cancel, or "resident says OK" to a worker on the way) and tells us.
        self._feedback.show("sending")
        await self._emit("cancel", "gpio:cancel", data)

    async def _consume(self) -> None:
        while True:
            signal = await self._signals.queue.get()
            if signal.name == "call":
                await self.release_held()
                await self.raise_alarm("call", "gpio:call", {})
            elif signal.name == "cancel":
                await self.cancel_pressed()
            elif signal.name.startswith("activity:"):
                _, what, name = signal.name.split(":", 2)
                if self._activity is not None:
                    await self._activity(f"gpio:{name}", what)
            elif signal.name in ("smoke_on", "smoke_off"):
                on = signal.name == "smoke_on"
                self._s.contact_since = asyncio.get_running_loop().time() if on else None
                self._s.contact_changed.set()

    async def _hold(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            held = self._s.held
            if held is None:
                await self._s.changed.wait()
                self._s.changed.clear()
                continue
            remaining = held.deadline - loop.time()
            if remaining > 0:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await self._s.changed.wait()
                self._s.changed.clear()
                continue
            await self.release_held()

    async def _watch_contact(self) -> None:
        assert self._smoke_contact is not None
        contact = self.config.inputs.smoke_contact
        confirm_s = contact.confirm_s if contact is not None else 0.0
        loop = asyncio.get_running_loop()
        while True:
            await self._s.contact_changed.wait()
            self._s.contact_changed.clear()
            while self._s.contact_since is not None and not self._s.smoke_reported:
                remaining = self._s.contact_since + confirm_s - loop.time()
                if remaining <= 0 and self._smoke_contact():
                    self._s.smoke_reported = True
                    await self.raise_alarm("smoke", "gpio:smoke", {"confirm_s": confirm_s})
                    break
                await asyncio.sleep(max(remaining, 0.01))
            if self._s.contact_since is None and self._s.smoke_reported:
                self._s.smoke_reported = False
                await self._emit("smoke_clear", "gpio:smoke", {})

    async def _sample_accel(self, accel: AccelSource) -> None:
        cfg = self.config.inputs.accelerometer
        assert cfg is not None
        detector = FallDetector(cfg.fall, cfg.upright_axis)
        async for t in self._ticks(cfg.rate_hz):
            try:
                ax, ay, az = accel.read()
            except OSError as exc:
                await self._sample_failed("accelerometer", exc)
                continue
            detection = detector.update(t, ax, ay, az)
            if detection is not None:
                log.warning("fall detected, peak %.1f g / 检测到跌倒", detection.peak_g)
                await self.hold_alarm("fall", "i2c:accel", {"peak_g": round(detection.peak_g, 2)})

    async def _sample_smoke(self, adc: LevelSource) -> None:
        cfg = self.config.inputs.smoke_analog
        assert cfg is not None
        detector = AnalogSmokeDetector(cfg, started_at=self._clock())
        async for t in self._ticks(cfg.sample_hz):
            try:
                level = float(adc.value)
            except OSError as exc:
                await self._sample_failed("smoke_analog", exc)
                continue
            self._s.smoke_level = level
            change = detector.update(t, level)
            if change == "smoke":
                await self.raise_alarm("smoke", "adc:smoke", {"level": round(level, 3)})
            elif change == "smoke_clear":
                await self._emit("smoke_clear", "adc:smoke", {"level": round(level, 3)})

    async def _ticks(self, rate_hz: float) -> AsyncIterator[float]:
        """Yield clock readings at `rate_hz`, scheduled on absolute deadlines (no drift)."""
        loop = asyncio.get_running_loop()
        period = 1.0 / rate_hz
        next_at = loop.time()
        while True:
            yield self._clock()
            next_at += period
            delay = next_at - loop.time()
            if delay < -period:  # fell behind (loaded host): skip, do not burst
                next_at = loop.time()
            await asyncio.sleep(max(delay, 0.0))

    async def _sample_failed(self, what: str, exc: OSError) -> None:
        self.sample_errors += 1
        if self.sample_errors == 1 or self.sample_errors % 1000 == 0:
            log.warning("%s read failed (%d so far): %s", what, self.sample_errors, exc)
        if self.sample_errors == 10:
            await self._emit("fault", f"driver:{what}", {"error": str(exc)[:200]})
