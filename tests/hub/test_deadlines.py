"""`hub.alarms.deadlines.Deadlines`: which devices supervision must judge at a given instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.alarms.deadlines import Deadlines

T0 = datetime(2026, 12, 1, tzinfo=UTC)
A, B, C = ("s", "a"), ("s", "b"), ("s", "c")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_only_devices_past_their_instant_are_due_once():
    index = Deadlines()
    index.rebuild({A: at(10), B: at(20), C: None}, devices=3, now=T0)
    assert index.take_due(at(10)) == []  # not before the instant has passed
    assert index.take_due(at(11)) == [A]
    assert index.take_due(at(11)) == []  # taken: the caller judges it and sets it again
    assert index.take_due(at(100)) == [B]  # C is not supervised (None)


def test_a_later_instant_waits_and_an_earlier_one_comes_first():
    index = Deadlines()
    index.rebuild({A: at(10), B: at(20)}, devices=2, now=T0)
    index.update({A: at(30)})  # seen again: later
    index.update({B: at(5)})  # e.g. a last will: earlier
    assert index.take_due(at(15)) == [B]
    assert index.take_due(at(25)) == []
    assert index.take_due(at(31)) == [A]


def test_touched_devices_are_due_at_the_next_pass_and_none_drops_a_device():
    index = Deadlines()
    index.rebuild({A: at(100), B: at(100)}, devices=2, now=T0)
    index.touch([A])
    index.update({B: None})
    assert index.take_due(T0) == [A]
    assert index.take_due(at(1000)) == []


def test_rebuilt_when_the_registry_changes_or_the_clock_goes_back():
    index = Deadlines()
    assert index.stale(devices=2, now=T0)
    index.rebuild({A: at(10), B: at(20)}, devices=2, now=at(5))
    assert not index.stale(devices=2, now=at(6))
    assert index.stale(devices=3, now=at(6))
    assert index.stale(devices=2, now=at(4))


def test_at_most_limit_devices_are_taken_earliest_first():
    index = Deadlines()
    index.rebuild({A: at(3), B: at(1), C: at(2)}, devices=3, now=T0)
    assert index.take_due(at(10), limit=2) == [B, C]
    assert index.take_due(at(10), limit=2) == [A]
