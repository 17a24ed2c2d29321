"""Pure pieces of the engine: check-in windows across midnight, names and places in alerts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from hub.alarms.alerts import english_name, place
from hub.alarms.rules.checkin import window
from hub.store.schema import DeviceRow, HouseholdRow, ResidentRow

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_window_within_a_day_and_across_midnight() -> None:
    morning = ResidentRow(checkin_start=time(7), checkin_end=time(10))
    start, end = window(morning, date(2026, 11, 23), SHANGHAI)
    assert (start.astimezone(UTC), end.astimezone(UTC)) == (
        datetime(2026, 11, 22, 23, 0, tzinfo=UTC),
        datetime(2026, 11, 23, 2, 0, tzinfo=UTC),
    )
    night = ResidentRow(checkin_start=time(22), checkin_end=time(2))
    start, end = window(night, date(2026, 11, 23), SHANGHAI)
    assert (start.date(), start.hour, end.date(), end.hour) == (
        date(2026, 11, 22),
        22,
        date(2026, 11, 23),
        2,
    )


def test_english_names() -> None:
    assert english_name("r-wang-xiuying", "王秀英") == "Wang Xiuying"
    assert english_name("r-7", "王秀英") == "王秀英"
    assert english_name("anything", "Anna Smith") == "Anna Smith"


def test_places() -> None:
    device = DeviceRow(id="d-1", location="3号楼楼梯间 / stairwell")
    assert place(device, HouseholdRow(unit="3-905")) == ("3号楼905", "Bldg 3 #905")
    assert place(device, HouseholdRow(unit="A座12")) == ("A座12", "#A座12")
    assert place(device, None) == ("3号楼楼梯间", "stairwell")
    assert place(DeviceRow(id="d-2", location=""), None) == ("d-2", "d-2")
