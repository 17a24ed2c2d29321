"""Per-sender token buckets and the once-a-minute rejection summary (hub.limits)."""

from __future__ import annotations

import logging

import pytest

from hub.limits import RejectionLog, SenderLimits, kind_hint

SENDER = ("s", "dev", "home-1")


class Tick:
    """A hand-driven monotonic clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_sender_gets_its_burst_then_its_rate() -> None:
    clock = Tick()
    limits = SenderLimits(rate_per_s=2, burst=5, clock=clock)
    assert [limits.allow(SENDER) for _ in range(7)] == [True] * 5 + [False] * 2
    assert limits.allow(("s", "dev", "home-2"))  # another sender has its own bucket
    clock.now = 1.0
    assert [limits.allow(SENDER) for _ in range(3)] == [True, True, False]


def test_the_first_sos_of_a_noisy_sender_always_goes_through_once_a_window() -> None:
    clock = Tick()
    limits = SenderLimits(rate_per_s=1, burst=1, first_window_s=60, clock=clock)
    assert limits.allow(SENDER, "test")
    assert not limits.allow(SENDER, "test")
    assert limits.allow(SENDER, "call")  # past the bucket, but no call committed yet
    limits.committed(SENDER, "call")
    assert not limits.allow(SENDER, "call")  # a stuck button: repeats are refused
    assert limits.allow(SENDER, "smoke")  # another life-safety kind still goes through
    clock.now = 61.5
    limits.allow(SENDER)  # the refilled token
    assert limits.allow(SENDER, "call")  # a new window


def test_kind_hint_reads_life_safety_kinds_from_raw_bytes() -> None:
    assert kind_hint(b'{"kind":"call"}') == "call"
    assert kind_hint(b'{"kind": "smoke", "data": {}}') == "smoke"
    assert kind_hint(b'{"kind":"test"}') is None


def test_rejections_log_one_summary_line_per_reason_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Tick()
    rejections = RejectionLog(every_s=60, clock=clock)
    with caplog.at_level(logging.WARNING, logger="hub.limits"):
        for i in range(10_000):
            rejections.add("not_json", "t", i)
            rejections.add("too_deep", "t", i)
        assert len(caplog.records) == 2  # the first of each reason is news
        clock.now = 61.0
        rejections.add("not_json", "t", "x")
    assert len(caplog.records) == 3
    assert "rejected 10000 more message(s) (not_json)" in caplog.records[-1].getMessage()
