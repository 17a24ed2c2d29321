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


def test_only_recent_life_safety_kinds_count_as_repeats() -> None:
    clock = Tick()
    limits = SenderLimits(rate_per_s=1, burst=1, first_window_s=60, clock=clock)
    assert not limits.repeat(SENDER, "call")  # no call committed yet: never refused
    limits.committed(SENDER, "call")
    limits.committed(SENDER, "test")
    assert limits.repeat(SENDER, "call")  # a stuck button: its repeats may be refused
    assert not limits.repeat(SENDER, "smoke")  # another life-safety kind still goes through
    assert not limits.repeat(SENDER, "test")  # not life-safety: deferred, never refused
    clock.now = 61.5
    assert not limits.repeat(SENDER, "call")  # a new window


def test_a_sender_sending_junk_past_its_bucket_is_junking_for_a_while() -> None:
    clock = Tick()
    limits = SenderLimits(clock=clock)
    assert not limits.junking(SENDER)
    limits.junk(SENDER)
    assert limits.junking(SENDER) and not limits.junking(("s", "dev", "home-2"))
    clock.now = limits.junk_s + 1
    assert not limits.junking(SENDER)


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
