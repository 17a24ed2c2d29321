"""LED/buzzer patterns on gpiozero mock pins, and their bilingual log lines."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from gpiozero import LED, Buzzer, DigitalOutputDevice
from gpiozero.pins.mock import MockFactory

from edge.feedback import PATTERNS, Feedback


@pytest.fixture
def factory() -> Iterator[MockFactory]:
    """Return a private mock pin factory."""
    f = MockFactory()
    yield f
    f.close()


@pytest.fixture
def feedback(factory: MockFactory) -> Iterator[Feedback]:
    """Return Feedback on LED 5, buzzer 6, siren 13."""
    fb = Feedback(
        "home-1",
        LED(5, pin_factory=factory),
        Buzzer(6, pin_factory=factory),
        DigitalOutputDevice(13, pin_factory=factory),
    )
    yield fb
    fb.close()


def _toggles(pin: object, within: float = 2.0) -> int:
    """Wait (bounded) until the pin changed state at least 3 times; return the count."""
    deadline = time.monotonic() + within
    while len(pin.states) < 4 and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.02)
    return len(pin.states) - 1  # type: ignore[attr-defined]


def test_help_is_coming_is_a_steady_led(factory: MockFactory, feedback: Feedback) -> None:
    feedback.show("on_scene")
    assert factory.pin(5).state is True
    assert factory.pin(6).state is False
    assert feedback.state == "on_scene"


def test_cancel_window_blinks_and_beeps(factory: MockFactory, feedback: Feedback) -> None:
    led, buzzer = factory.pin(5), factory.pin(6)
    led.clear_states()
    buzzer.clear_states()
    feedback.show("cancel_window")
    assert _toggles(led) >= 3
    assert _toggles(buzzer) >= 3
    feedback.show("cancelled")
    assert (led.state, buzzer.state) == (False, False)


def test_sending_blinks_fast(factory: MockFactory, feedback: Feedback) -> None:
    led = factory.pin(5)
    led.clear_states()
    feedback.show("sending")
    assert _toggles(led) >= 3


def test_siren_on_and_off(factory: MockFactory, feedback: Feedback) -> None:
    feedback.siren(True)
    assert factory.pin(13).state is True and feedback.siren_on
    feedback.siren(False)
    assert factory.pin(13).state is False and not feedback.siren_on


def test_state_changes_are_logged_in_both_languages(
    feedback: Feedback, caplog: pytest.LogCaptureFixture
) -> None:
    feedback.show("acknowledged")
    assert "已有人响应" in caplog.text and "help is coming" in caplog.text


def test_every_state_has_distinct_text() -> None:
    assert len({p.en for p in PATTERNS.values()}) == len(PATTERNS)
    assert len({p.zh for p in PATTERNS.values()}) == len(PATTERNS)


def test_feedback_without_outputs_still_tracks_state() -> None:
    fb = Feedback("stair-1")
    fb.show("sent")
    fb.siren(True)
    assert (fb.state, fb.siren_on) == ("sent", True)


def test_the_three_stages_and_failed_look_and_sound_different() -> None:
    """sent (waiting) / received / help is coming / failed: four distinct LED+buzzer patterns."""
    from edge.feedback import PATTERNS

    stages = ["sent", "received", "acknowledged", "failed", "checked_in"]
    shown = {(PATTERNS[s].led, PATTERNS[s].buzzer) for s in stages}
    assert len(shown) == len(stages)
    assert PATTERNS["failed"].en == "failed: please phone for help"
    assert "请打电话求助" in PATTERNS["failed"].zh
