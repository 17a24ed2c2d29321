"""The edge agent: inputs -> durable outbox -> MQTT, commands -> LED/buzzer/siren.

One `Agent` per device. `async with Agent(config, pin_factory=...) as agent: await agent.run()`
runs one TaskGroup (bus, outbox pump, heartbeat, telemetry, input tasks, bridges) until it is
cancelled or `stop()` is called; then it flushes the outbox and publishes `offline` within
`shutdown_timeout` seconds. `hard_stop()` is the agent's half of an emulated power cut: it
stops without a flush or `offline`; the other half, dropping the connection without DISCONNECT
so that the broker publishes the last will, is the simulator's (`simulators.relay`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Self

from edge.bridges import run_bridges
from edge.bus import Bus, BusError
from edge.confirm import Confirmations
from edge.drivers.gpio import GpioInputs, GpioOutputs, default_pin_factory, open_mcp3008
from edge.feedback import Feedback, FeedbackState
from edge.hardware import AccelSource, LevelSource
from edge.outbox import Outbox, Pending
from edge.pump import OutboxPump
from edge.sensors import RESIDENT_ALARMS, Sensors, SignalQueue
from edge.telemetry import Readings
from edge.voice import Speaker
from protocol.codec import decode_command, encode, new_event_id
from protocol.device_config import DeviceConfig
from protocol.errors import ProtocolError
from protocol.messages import (
    Event,
    EventKind,
    IndicateCmd,
    Scalar,
    SelfTestCmd,
    SirenCmd,
    Status,
    utcnow,
)
from protocol.topics import DEVICE_CHANNELS, device_topic

log = logging.getLogger(__name__)


class _StopRequestedError(Exception):
    """Raised inside the TaskGroup to end `run()`."""


class Agent:
    """One device's agent; implements `edge.sink.EventSink`."""

    def __init__(
        self,
        config: DeviceConfig,
        *,
        pin_factory: Any | None = None,
        accel: AccelSource | None = None,
        adc: LevelSource | None = None,
        password: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        shutdown_timeout: float = 5.0,
        backoff: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        self.config = config
        self._pin_factory = pin_factory
        self._accel = accel
        self._adc = adc
        self._password = password
        self._clock = clock
        self._started = clock()
        self.shutdown_timeout = shutdown_timeout
        self._backoff = backoff
        self.bad_commands = 0
        self.readings = Readings()
        self._topics = {ch: device_topic(config.site, config.device, ch) for ch in DEVICE_CHANNELS}
        self._outbox: Outbox | None = None
        self._inputs: GpioInputs | None = None
        self._outputs: GpioOutputs | None = None
        self._speaker = Speaker(config.outputs.speaker) if config.outputs.speaker else None
        self._feedback = Feedback(config.device, speaker=self._speaker)
        self._sensors: Sensors | None = None
        self._bus: Bus | None = None
        self._pump: OutboxPump | None = None
        self._stop = asyncio.Event()
        self._aborted = False
        self._closers: list[Callable[[], None]] = []
        self._faults: list[tuple[str, str]] = []
        self._activity_sent: dict[str, float] = {}
        self._confirm: Confirmations | None = None
        self.activity_events = 0
        self.activity_seen = 0

    # --- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        cfg = self.config
        self._outbox = Outbox(
            cfg.outbox.path,
            max_events=cfg.outbox.max_events,
            max_telemetry=cfg.outbox.max_telemetry,
        )
        self._closers.append(self._outbox.close)
        signals = SignalQueue(asyncio.get_running_loop())
        try:
            self._open_hardware(signals)
        except BaseException:
            self._close()
            raise
        self._bus = Bus(
            cfg.broker,
            client_id=cfg.device,
            password=self._password,
            cmd_topic=self._topics["cmd"],
            status_topic=self._topics["status"],
            status_payload=self._status,
            on_command=self._on_command,
            backoff=self._backoff,
        )
        self._pump = OutboxPump(
            self._outbox, self._bus, cfg.broker.max_inflight, on_sent=self._on_sent
        )
        self._confirm = Confirmations(
            self._outbox,
            self._feedback,
            cfg.timing.confirm_s,
            self._clock,
            self._pump.wake,
        )
        return self

    def _open_hardware(self, signals: SignalQueue) -> None:
        cfg = self.config
        gpio_in = any(
            getattr(cfg.inputs, n) is not None
            for n in ("call_button", "cancel_button", "smoke_contact")
        ) or bool(cfg.inputs.activity)
        gpio_out = any(getattr(cfg.outputs, n) is not None for n in ("led", "buzzer", "siren"))
        needs_factory = gpio_in or gpio_out or (cfg.inputs.smoke_analog and self._adc is None)
        factory = self._pin_factory
        if needs_factory and factory is None:
            factory = default_pin_factory()
        if gpio_out:
            self._outputs = GpioOutputs(cfg.outputs, factory)
            self._closers.append(self._outputs.close)
            out = self._outputs
            self._feedback = Feedback(cfg.device, out.led, out.buzzer, out.siren, self._speaker)
        if gpio_in:
            self._inputs = GpioInputs(cfg.inputs, factory, signals.post)
            self._closers.append(self._inputs.close)
        if cfg.inputs.smoke_analog is not None and self._adc is None:
            try:
                adc = open_mcp3008(cfg.inputs.smoke_analog, factory)
            except OSError as exc:
                self._driver_fault("smoke_analog", exc)
            else:
                self._closers.append(adc.close)
                self._adc = adc
        if cfg.inputs.accelerometer is not None and self._accel is None:
            self._open_accelerometer()
        self._sensors = Sensors(
            cfg,
            self._store_event,
            self._feedback,
            signals,
            smoke_contact=self._smoke_contact_active if cfg.inputs.smoke_contact else None,
            accel=self._accel,
            adc=self._adc,
            clock=self._clock,
            activity=self.activity,
        )

    def _open_accelerometer(self) -> None:
        from edge.drivers.mpu6050 import Mpu6050

        accel_cfg = self.config.inputs.accelerometer
        assert accel_cfg is not None
        try:
            mpu = Mpu6050(accel_cfg.bus, accel_cfg.address, accel_cfg.rate_hz)
        except OSError as exc:
            self._driver_fault("accelerometer", exc)
        else:
            self._closers.append(mpu.close)
            self._accel = mpu

    def _driver_fault(self, what: str, exc: OSError) -> None:
        """Run without an input that failed to open; report it as a `fault` event at start."""
        log.error("%s unavailable, it is OFF / 传感器不可用: %s", what, exc)
        self._faults.append((f"driver:{what}", str(exc)[:200]))

    def _smoke_contact_active(self) -> bool:
        return self._inputs is not None and self._inputs.smoke_active

    async def __aexit__(self, *exc: object) -> None:
        self._close()

    def _close(self) -> None:
        self._closers.append(self._feedback.close)  # outputs off first, then release pins
        while self._closers:
            closer = self._closers.pop()
            try:
                closer()
            except Exception:
                log.exception("closing a device failed")

    async def run(self) -> None:
        """Run until cancelled or stopped; opens and closes resources if not yet entered."""
        if self._bus is None:
            async with self:
                await self._run()
        else:
            await self._run()

    async def _run(self) -> None:
        assert self._bus is not None and self._sensors is not None and self._pump is not None
        assert self._confirm is not None
        for source, error in self._faults:
            await self.emit("fault", source, {"error": error})
        self._faults.clear()
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._bus.run(), name=f"{self.config.device}:bus")
                tg.create_task(self._pump.run(), name=f"{self.config.device}:outbox-pump")
                tg.create_task(self._heartbeat(), name=f"{self.config.device}:heartbeat")
                tg.create_task(self._telemetry(), name=f"{self.config.device}:telemetry")
                tg.create_task(self._confirm.watch(), name=f"{self.config.device}:confirm-watch")
                for name, coro in self._sensors.tasks():
                    tg.create_task(coro, name=f"{self.config.device}:{name}")
                tg.create_task(run_bridges(self.config, self), name=f"{self.config.device}:bridges")
                await self._until_stopped()
        except* _StopRequestedError:
            pass

    async def _until_stopped(self) -> None:
        """Wait for stop() or cancellation, then shut down while the tasks still run."""
        try:
            await self._stop.wait()
        except asyncio.CancelledError:
            if not self._aborted:
                await self._shutdown()
            raise
        if self._aborted:
            await self._let_connection_drop()
        else:
            await self._shutdown()
        raise _StopRequestedError

    async def _let_connection_drop(self) -> None:
        """After `hard_stop`, let the bus see its connection die instead of cancelling it
        mid-read (a connection still up after 2 s is closed with DISCONNECT: no will)."""
        assert self._bus is not None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await self._bus.wait_disconnected()

    async def _shutdown(self) -> None:
        """Flush the outbox and publish `offline`, within `shutdown_timeout` seconds."""
        assert self._bus is not None and self._outbox is not None and self._sensors is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.shutdown_timeout
        await self._sensors.release_held()
        assert self._pump is not None
        await self._pump.drain(deadline)
        await self._bus.close(self._status(False), within=max(0.1, deadline - loop.time()))
        log.info(
            "%s stopped (%d event(s) left in the outbox)",
            self.config.device,
            self._outbox.pending_events,
        )

    def stop(self) -> None:
        """Ask `run()` to flush, publish `offline` and return."""
        self._stop.set()

    def hard_stop(self) -> None:
        """Stop without a flush or `offline`, as a power cut would; `run()` returns.

        The caller cuts the connection first (`simulators.relay.Relay.cut`) so that the broker
        publishes the last will: the agent cannot drop its own connection without DISCONNECT,
        and a real device needs no way to.
        """
        self._aborted = True
        if self._bus is not None:
            self._bus.stop_reconnecting()
        self._stop.set()

    # --- state for simulators and tests ----------------------------------------------------

    @property
    def outbox_pending(self) -> int:
        """Return how many events wait for a PUBACK."""
        return self._outbox.pending_events if self._outbox is not None else 0

    @property
    def connected(self) -> bool:
        """Return True while the broker connection is up."""
        return self._bus is not None and self._bus.connected

    @property
    def indicate_state(self) -> FeedbackState:
        """Return the feedback state shown on the LED/buzzer."""
        return self._feedback.state

    @property
    def led_state(self) -> FeedbackState:
        """Return the feedback state shown on the LED (same as `indicate_state`)."""
        return self._feedback.state

    @property
    def siren_on(self) -> bool:
        """Return True while the siren is switched on."""
        return self._feedback.siren_on

    @property
    def sensors(self) -> Sensors:
        """Return the input side (held alarm, smoke level); only after entering."""
        assert self._sensors is not None, "use 'async with Agent(...)' first"
        return self._sensors

    # --- EventSink -------------------------------------------------------------------------

    async def emit(self, kind: EventKind, source: str, data: dict[str, Scalar]) -> None:
        """Write an event durably to the outbox, then wake the publisher."""
        await self._store_event(kind, source, data)

    async def _store_event(self, kind: EventKind, source: str, data: dict[str, Scalar]) -> str:
        assert self._outbox is not None, "use 'async with Agent(...)' first"
        event_id, ts, device = new_event_id(), utcnow(), self.config.device

        def payload_for(seq: int) -> bytes:
            event = Event(
                id=event_id, device=device, seq=seq, ts=ts, kind=kind, source=source, data=data
            )
            return encode(event)

        keep = event_id if kind in RESIDENT_ALARMS else None
        seq = self._outbox.add_event(self._topics["event"], kind, payload_for, confirm_id=keep)
        log.info("event %s seq=%d from %s stored (%s)", kind, seq, source, event_id)
        if kind in RESIDENT_ALARMS:
            if self._confirm is not None:
                self._confirm.expect(event_id)
            self._feedback.show("sending")
        if self._pump is not None:
            self._pump.wake()
        return event_id

    async def activity(self, source: str, what: str = "motion") -> None:
        """Note resident activity: telemetry's activity age, and at most one `activity` event
        per sensor per `timing.activity_min_s` (durable, for the hub's check-in rule)."""
        now = self._clock()
        self.readings.activity(source, now)
        self.activity_seen += 1
        last = self._activity_sent.get(source)
        if last is not None and now - last < self.config.timing.activity_min_s:
            return
        self._activity_sent[source] = now
        self.activity_events += 1
        await self._store_event("activity", source, {"what": what})

    def availability(self, source: str, online: bool) -> None:
        """Note a bridged sub-device going online/offline (reported in telemetry)."""
        self.readings.availability(source, online)

    # --- publishing ------------------------------------------------------------------------

    def _on_sent(self, message: Pending) -> None:
        if message.kind in RESIDENT_ALARMS and self._feedback.state == "sending":
            self._feedback.show("sent")

    def _status(self, online: bool) -> bytes:
        status = Status(
            device=self.config.device,
            ts=utcnow(),
            state="online" if online else "offline",
            fw=self.config.fw,
            uptime_s=round(max(0.0, self._clock() - self._started), 3),
            outbox=self.outbox_pending,
            heartbeat_s=self.config.timing.heartbeat_s,
        )
        return encode(status)

    async def _heartbeat(self) -> None:
        assert self._bus is not None
        while True:
            await asyncio.sleep(self.config.timing.heartbeat_s)
            if self._bus.connected:
                try:
                    await self._bus.publish(
                        self._topics["status"], self._status(True), qos=1, retain=True
                    )
                except BusError as exc:
                    log.info("heartbeat not sent: %s", exc)

    async def _telemetry(self) -> None:
        assert self._outbox is not None and self._sensors is not None
        while True:
            await asyncio.sleep(self.config.timing.telemetry_s)
            payload = self.readings.payload(
                self.config.device,
                now=self._clock(),
                uptime_s=self._clock() - self._started,
                outbox=self._outbox.pending_events,
                smoke_level=self._sensors.smoke_level,
            )
            if self._outbox.add_telemetry(self._topics["telemetry"], payload) and self._pump:
                self._pump.wake()

    # --- commands --------------------------------------------------------------------------

    async def _on_command(self, raw: bytes) -> None:
        try:
            cmd = decode_command(raw)
        except ProtocolError as exc:
            self.bad_commands += 1
            log.warning("bad command dropped (%d so far): %s", self.bad_commands, exc)
            return
        if isinstance(cmd, IndicateCmd):
            if cmd.state != "failed" and self._confirm is not None:
                self._confirm.confirmed()
            self._feedback.show(cmd.state)
            if cmd.state in ("resolved", "cancelled") and self._sensors is not None:
                self._sensors.alarm_closed()
        elif isinstance(cmd, SirenCmd):
            self._feedback.siren(cmd.on)
        elif isinstance(cmd, SelfTestCmd):
            await self.emit("test", "cmd:self_test", {"request": cmd.request})
