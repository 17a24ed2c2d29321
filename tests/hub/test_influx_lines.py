"""Line builders: exact line protocol, escaping, and round trips through a real influxd."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from hub.influx import alarm_line, command_line, event_line, status_line, telemetry_line
from hub.influx.lines import LineError, timestamp_ms
from simulators.services import Influxd

TS = datetime(2026, 11, 22, 8, 30, 0, 123000, tzinfo=UTC)
TS_MS = 1795336200123


def test_timestamp_is_exact_milliseconds() -> None:
    assert timestamp_ms(TS) == TS_MS
    beijing = TS.astimezone(timezone(timedelta(hours=8)))
    assert timestamp_ms(beijing) == TS_MS
    assert timestamp_ms(TS + timedelta(microseconds=999)) == TS_MS


def test_naive_datetime_is_rejected() -> None:
    with pytest.raises(LineError, match="naive"):
        timestamp_ms(datetime(2026, 1, 1))  # noqa: DTZ001


def test_exact_lines() -> None:
    assert (
        telemetry_line("s1", "g1", "d1", TS, {"smoke": 0.25, "battery": 87})
        == f"telemetry,device=d1,grid=g1,site=s1 smoke=0.25,battery=87.0 {TS_MS}"
    )
    assert (
        event_line("s1", "g1", "d1", "call", "01J0AB", 42, TS)
        == f'event,device=d1,grid=g1,kind=call,site=s1 id="01J0AB",seq=42i {TS_MS}'
    )
    assert (
        alarm_line("s1", "g1", "fire", "raised", "a-1", 0, TS)
        == f'alarm,class=fire,grid=g1,site=s1,state=raised alarm_id="a-1",'
        f"seconds_since_raised=0.0 {TS_MS}"
    )
    assert status_line("s1", "g1", "d1", True, TS) == (
        f"device_status,device=d1,grid=g1,site=s1 online=1i {TS_MS}"
    )
    assert status_line("s1", "g1", "d1", False, TS).endswith(f" online=0i {TS_MS}")
    assert status_line("s1", "g1", "d1", True, TS, fw='1.2 "b"').endswith(
        f' online=1i,fw="1.2 \\"b\\"" {TS_MS}'
    )
    assert event_line("s1", "g1", "d1", "activity", "e", 3, TS, what="checkin") == (
        f'event,device=d1,grid=g1,kind=activity,site=s1,what=checkin id="e",seq=3i {TS_MS}'
    )
    assert ",what=" not in event_line("s1", "g1", "d1", "activity", "e", 3, TS, what="x y")
    assert command_line("s1", "d1", "siren", True, TS, on=True) == (
        f"command,cmd=siren,device=d1,site=s1 ok=1i,on=1i {TS_MS}"
    )
    assert command_line("s1", "d1", "indicate", False, TS) == (
        f"command,cmd=indicate,device=d1,site=s1 ok=0i {TS_MS}"
    )


def test_escaping_of_tags_field_keys_and_strings() -> None:
    line = telemetry_line("a b,c=d", "网格 1", 'x"y', TS, {"temp c,x=1": 1.5})
    assert line == (
        f'telemetry,device=x"y,grid=网格\\ 1,site=a\\ b\\,c\\=d temp\\ c\\,x\\=1=1.5 {TS_MS}'
    )
    line = event_line("s", "g", "d", "call", 'id "with" \\ quote', 1, TS)
    assert 'id="id \\"with\\" \\\\ quote"' in line


def test_empty_tag_value_is_omitted() -> None:
    assert status_line("s1", "", "d1", True, TS).startswith("device_status,device=d1,site=s1 ")


@pytest.mark.parametrize(
    "build",
    [
        lambda: telemetry_line("s\n", "g", "d", TS, {"x": 1.0}),
        lambda: telemetry_line("s", "g\\", "d", TS, {"x": 1.0}),
        lambda: telemetry_line("s", "g", "d", TS, {"x\\y": 1.0}),
        lambda: telemetry_line("s", "g", "d", TS, {"time": 1.0}),
        lambda: telemetry_line("s", "g", "d", TS, {"x": float("nan")}),
        lambda: telemetry_line("s", "g", "d", TS, {"x": float("inf")}),
        lambda: telemetry_line("s", "g", "d", TS, {}),
        lambda: event_line("s", "g", "d", "call", "a\nb", 1, TS),
        lambda: alarm_line("s", "g", "fire", "raised", "a", float("nan"), TS),
    ],
)
def test_unwritable_values_are_rejected(build: object) -> None:
    with pytest.raises(LineError):
        build()  # type: ignore[operator]


def _write(server: Influxd, db: str, lines: list[str]) -> httpx.Response:
    return httpx.post(
        f"{server.url}/write",
        params={"db": db, "precision": "ms"},
        content="\n".join(lines).encode(),
    )


def _rows(server: Influxd, db: str, q: str) -> list[dict[str, object]]:
    answer = server.query(q, db=db)
    result = answer["results"][0]  # type: ignore[index]
    assert "error" not in result, result
    rows: list[dict[str, object]] = []
    for series in result.get("series", []):
        for values in series["values"]:
            rows.append(dict(zip(series["columns"], values, strict=True)))
    return rows


def test_round_trip_through_influxd(influxd: Influxd, influx_db: str) -> None:
    odd_site = 'a b,c=d"é'
    lines = [
        telemetry_line(odd_site, "网格 1", "d1", TS, {"smoke level": 0.125, "a,b=c": -3}),
        event_line(odd_site, "g1", "d1", "call", 'x"y\\z', 7, TS),
        alarm_line(odd_site, "g1", "fire", "acknowledged", "a-1", 12.5, TS),
        status_line(odd_site, "g1", "d1", False, TS),
    ]
    resp = _write(influxd, influx_db, lines)
    assert resp.status_code == 204, resp.text
    site = odd_site.replace("\\", "\\\\").replace("'", "\\'")
    (tele,) = _rows(influxd, influx_db, f"SELECT * FROM telemetry WHERE site = '{site}'")
    assert tele["time"] == "2026-11-22T08:30:00.123Z"
    assert tele["smoke level"] == 0.125
    assert tele["a,b=c"] == -3.0
    assert tele["grid"] == "网格 1"
    (event,) = _rows(influxd, influx_db, "SELECT * FROM event")
    assert event["id"] == 'x"y\\z'
    assert event["seq"] == 7
    assert event["site"] == odd_site
    (alarm,) = _rows(influxd, influx_db, "SELECT * FROM alarm")
    assert (alarm["class"], alarm["state"], alarm["seconds_since_raised"]) == (
        "fire",
        "acknowledged",
        12.5,
    )
    (status,) = _rows(influxd, influx_db, "SELECT * FROM device_status")
    assert status["online"] == 0
