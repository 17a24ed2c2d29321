"""What counts as a sign of life in the check-in window: activity (motion, check-in press),
a call, a care visit; not a device's own self-test or fault."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.store.people import CareVisitRow

SITE = "sunflower"
HOME = "home-b1-101"  # 王秀英: check-in window 07:00-10:00 Asia/Shanghai (23:00-02:00 UTC)


def inactivity(store) -> list[str]:
    return [a.resident for a in store.list_alarms(site=SITE, cls="inactivity")]


async def next_window(engine, clock) -> None:
    """Let the engine see today's closed window, then go to 08:00 local the next day."""
    await engine.tick(clock())
    clock.advance(timedelta(hours=22).total_seconds())


@pytest.mark.parametrize(
    ("kind", "data", "alive"),
    [
        ("activity", {"what": "motion"}, True),
        ("activity", {"what": "checkin"}, True),
        ("call", {}, True),
        ("test", {}, False),
        ("fault", {"error": "x"}, False),
    ],
)
async def test_only_signs_of_life_count(engine, events, clock, store, kind, data, alive):
    await next_window(engine, clock)
    await engine.on_event(SITE, events(HOME, kind, **data))
    await engine.tick(clock.advance(timedelta(hours=2, seconds=1).total_seconds()))
    assert inactivity(store) == ([] if alive else ["r-wang-xiuying"])


async def test_a_care_visit_in_the_window_counts(engine, clock, store):
    await next_window(engine, clock)
    with store.session(write=True) as s:
        s.add(
            CareVisitRow(
                site=SITE, resident="r-wang-xiuying", worker="w-zhang-wei", ts=clock(),
                outcome="ok", note="",
            )
        )  # fmt: skip
    await engine.tick(clock.advance(timedelta(hours=2, seconds=1).total_seconds()))
    assert inactivity(store) == []
