"""GPIO inputs and outputs through gpiozero, each built on an explicit pin factory.

gpiozero calls its callbacks from its own threads; they only call `post(name)`, which is
`edge.sensors.SignalQueue.post`, the one place where they cross into the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpiozero import LED, MCP3008, Button, Buzzer, DigitalInputDevice, DigitalOutputDevice
from gpiozero.devices import Device
from gpiozero.exc import GPIOZeroError

from protocol.device_config import (
    ButtonConfig,
    InputsConfig,
    OutputConfig,
    OutputsConfig,
    SmokeAnalogConfig,
)


def default_pin_factory() -> Any:
    """Return gpiozero's default pin factory for this board (lgpio, RPi.GPIO, ...)."""
    try:
        Device.ensure_pin_factory()
    except GPIOZeroError as exc:
        raise OSError(
            f"no GPIO pin factory ({exc}); run on a Raspberry Pi with lgpio installed, "
            "or set GPIOZERO_PIN_FACTORY=mock for a dry run"
        ) from exc
    return Device.pin_factory


def _button(cfg: ButtonConfig, factory: Any, post: Callable[[str], None], name: str) -> Button:
    bounce = cfg.bounce_ms / 1000 if cfg.bounce_ms else None
    button = Button(
        cfg.pin,
        pull_up=cfg.pull_up,
        bounce_time=bounce,
        hold_time=max(cfg.hold_s, 0.01),
        pin_factory=factory,
    )
    if cfg.hold_s > 0:
        # A long press guards against knocks: only a press held hold_s counts.
        button.when_held = lambda: post(name)
    else:
        button.when_pressed = lambda: post(name)
    return button


class GpioInputs:
    """The call and cancel buttons and the smoke relay contact of one device."""

    def __init__(self, cfg: InputsConfig, factory: Any, post: Callable[[str], None]) -> None:
        self._devices: list[Any] = []
        self.smoke: DigitalInputDevice | None = None
        if cfg.call_button is not None:
            self._devices.append(_button(cfg.call_button, factory, post, "call"))
        if cfg.cancel_button is not None:
            self._devices.append(_button(cfg.cancel_button, factory, post, "cancel"))
        if cfg.smoke_contact is not None:
            contact = cfg.smoke_contact
            # Pulled towards the idle level; an alarm drives the contact the other way.
            self.smoke = DigitalInputDevice(
                contact.pin, pull_up=not contact.active_high, pin_factory=factory
            )
            self.smoke.when_activated = lambda: post("smoke_on")
            self.smoke.when_deactivated = lambda: post("smoke_off")
            self._devices.append(self.smoke)
            if self.smoke.is_active:
                post("smoke_on")
        for sensor in cfg.activity:
            # A PIR/presence/bed sensor counts when it sees; a door reed when it opens or closes.
            device = DigitalInputDevice(
                sensor.pin,
                pull_up=sensor.pull_up,
                active_state=None if sensor.pull_up is not None else sensor.active_high,
                pin_factory=factory,
            )
            signal = f"activity:{sensor.what}:{sensor.name}"
            device.when_activated = lambda s=signal: post(s)
            if sensor.what == "door":
                device.when_deactivated = lambda s=signal: post(s)
            self._devices.append(device)

    @property
    def smoke_active(self) -> bool:
        """Return True while the smoke relay is in alarm."""
        return bool(self.smoke is not None and self.smoke.is_active)

    def close(self) -> None:
        """Release the pins."""
        for device in self._devices:
            device.close()


def _output(cfg: OutputConfig | None, cls: type[Any], factory: Any) -> Any:
    if cfg is None:
        return None
    return cls(cfg.pin, active_high=cfg.active_high, initial_value=False, pin_factory=factory)


class GpioOutputs:
    """The LED, buzzer and siren relay of one device (each None when not fitted)."""

    def __init__(self, cfg: OutputsConfig, factory: Any) -> None:
        self.led: LED | None = _output(cfg.led, LED, factory)
        self.buzzer: Buzzer | None = _output(cfg.buzzer, Buzzer, factory)
        self.siren: DigitalOutputDevice | None = _output(cfg.siren, DigitalOutputDevice, factory)

    def close(self) -> None:
        """Switch everything off and release the pins."""
        for device in (self.led, self.buzzer, self.siren):
            if device is not None:
                device.close()


def open_mcp3008(cfg: SmokeAnalogConfig, factory: Any) -> MCP3008:
    """Open the MCP3008 channel of an analog smoke sensor (`.value` 0.0-1.0); OSError if not."""
    try:
        return MCP3008(channel=cfg.channel, device=cfg.spi_device, pin_factory=factory)
    except GPIOZeroError as exc:
        raise OSError(f"MCP3008 on SPI{cfg.spi_device} channel {cfg.channel}: {exc}") from exc
