"""What the resident sees and hears: LED and buzzer patterns, and the building siren.

Every state change is logged in zh-CN and English, so a log read over the phone makes sense to
the resident's family and to the installer alike. The table is in docs/edge.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal, Protocol

from edge.voice import Speaker

log = logging.getLogger(__name__)

FeedbackState = Literal[
    "idle",
    "sending",
    "sent",
    "received",
    "acknowledged",
    "on_scene",
    "resolved",
    "cancelled",
    "failed",
    "cancel_window",
    "checked_in",
]


class Switchable(Protocol):
    """A gpiozero output device (LED, Buzzer, DigitalOutputDevice)."""

    def on(self) -> None:
        """Switch on."""
        ...

    def off(self) -> None:
        """Switch off."""
        ...

    def blink(
        self,
        on_time: float = 1,
        off_time: float = 1,
        n: int | None = None,
        background: bool = True,
    ) -> None:
        """Toggle in the background."""
        ...


Blink = tuple[float, float, int | None]


@dataclass(frozen=True, slots=True)
class Pattern:
    """LED and buzzer behaviour of one state; blink = (on_s, off_s, repeats or None)."""

    led: Literal["off", "on"] | Blink
    buzzer: Literal["off"] | Blink
    zh: str
    en: str


PATTERNS: dict[FeedbackState, Pattern] = {
    "idle": Pattern("off", "off", "待机", "idle"),
    "sending": Pattern((0.1, 0.1, None), (0.1, 0.1, 1), "正在发送求助…", "sending the alarm…"),
    "sent": Pattern(
        (0.5, 1.5, None), "off", "求助已发出，等待中心确认", "alarm sent, waiting for the centre"
    ),
    "received": Pattern(
        (2.0, 0.5, None), (0.1, 0.1, 2), "中心已收到求助，正在安排人员", "received: finding help"
    ),
    "acknowledged": Pattern("on", (0.3, 0.3, 3), "已有人响应，救助在路上", "help is coming"),
    "on_scene": Pattern("on", "off", "救助人员已到达", "help has arrived"),
    "resolved": Pattern("off", "off", "事件已处理", "alarm resolved"),
    "cancelled": Pattern("off", "off", "求助已取消", "alarm cancelled"),
    "failed": Pattern(
        (1.0, 1.0, None),
        (1.0, 1.0, None),
        "求助未能确认送达，请打电话求助",
        "failed: please phone for help",
    ),
    "cancel_window": Pattern(
        (0.25, 0.25, None),
        (0.2, 0.8, None),
        "检测到跌倒，如无需帮助请按取消键",
        "fall detected: press cancel if you are fine",
    ),
    "checked_in": Pattern((2.0, 0.1, 1), (0.05, 0.1, 1), "已签到：我很好", "checked in: I'm OK"),
}


class Feedback:
    """Drive the LED/buzzer patterns and the siren; remembers the last state shown."""

    def __init__(
        self,
        device: str,
        led: Switchable | None = None,
        buzzer: Switchable | None = None,
        siren: Switchable | None = None,
        speaker: Speaker | None = None,
    ) -> None:
        self.device = device
        self._speaker = speaker
        self._led = led
        self._buzzer = buzzer
        self._siren = siren
        self.state: FeedbackState = "idle"
        self.siren_on = False

    def show(self, state: FeedbackState) -> None:
        """Switch to the pattern of `state` and log it in zh-CN and English."""
        pattern = PATTERNS[state]
        _apply(self._led, pattern.led)
        _apply(self._buzzer, pattern.buzzer)
        if state != self.state:
            log.info("%s: %s / %s", self.device, pattern.zh, pattern.en)
            if self._speaker is not None:
                self._speaker.say(state)
        self.state = state

    def siren(self, on: bool) -> None:
        """Switch the building siren on or off."""
        if self._siren is not None:
            if on:
                self._siren.on()
            else:
                self._siren.off()
        if on != self.siren_on:
            if on:
                log.warning("%s: 警报器已开启 / siren ON", self.device)
            else:
                log.info("%s: 警报器已关闭 / siren off", self.device)
        self.siren_on = on

    def close(self) -> None:
        """Switch every output off (and stop a prompt still playing)."""
        if self._speaker is not None:
            self._speaker.stop()
        for output in (self._led, self._buzzer, self._siren):
            if output is not None:
                output.off()


def _apply(output: Switchable | None, mode: str | Blink) -> None:
    if output is None:
        return
    if isinstance(mode, tuple):
        on_s, off_s, repeats = mode
        output.blink(on_time=on_s, off_time=off_s, n=repeats, background=True)
    elif mode == "on":
        output.on()
    else:
        output.off()
