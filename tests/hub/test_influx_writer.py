"""InfluxWriter against a real influxd 1.6.7: counts, batching, partial writes, set-up."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.influx import InfluxSettings, InfluxWriter, telemetry_line
from hub.influx.writer import _all_single_lines
from simulators.services import Influxd

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def points(n: int, start: int = 0, device: str = "d1") -> list[str]:
    """Return n telemetry points with distinct timestamps and value = index."""
    return [
        telemetry_line("s1", "g1", device, T0 + timedelta(milliseconds=i), {"v": i})
        for i in range(start, start + n)
    ]


def count(server: Influxd, db: str, measurement: str = "telemetry", field: str = "v") -> int:
    """Return how many points hold `field` in `measurement` (0 when none)."""
    answer = server.query(f'SELECT count("{field}") FROM "{measurement}"', db=db)
    result = answer["results"][0]  # type: ignore[index]
    assert "error" not in result, result
    series = result.get("series")
    return int(series[0]["values"][0][1]) if series else 0


async def eventually(check: Callable[[], bool], within_s: float = 20.0) -> None:
    """Wait until check() is true; fail the test after within_s seconds."""
    deadline = asyncio.get_running_loop().time() + within_s
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail("condition not reached in time")
        await asyncio.sleep(0.02)


def settings_for(server_url: str, db: str, tmp_path: Path, **kw: object) -> InfluxSettings:
    """Return fast-retrying writer settings for a test."""
    base: dict[str, object] = {
        "url": server_url,
        "database": db,
        "spill_dir": str(tmp_path / "spill"),
        "flush_interval_s": 0.05,
        "backoff_initial_s": 0.02,
        "backoff_max_s": 0.2,
        "retries_before_spill": 1,
        "timeout_s": 2.0,
    }
    return InfluxSettings.model_validate(base | kw)


async def test_points_written_and_counted_exactly(
    influxd: Influxd, influx_db: str, tmp_path: Path
) -> None:
    async with InfluxWriter(settings_for(influxd.url, influx_db, tmp_path)) as writer:
        writer.submit(points(1234))
        await eventually(lambda: writer.stats()["points_written"] == 1234)
        stats = writer.stats()
    assert count(influxd, influx_db) == 1234
    assert stats["points_submitted"] == 1234
    assert stats["points_dropped_invalid"] == 0
    assert stats["points_spilled"] == 0
    assert stats["reachable"] == 1
    assert str(stats["server_version"]).startswith("1.6")


async def test_batches_bounded_by_size(influxd: Influxd, influx_db: str, tmp_path: Path) -> None:
    cfg = settings_for(influxd.url, influx_db, tmp_path, batch_size=100, flush_interval_s=3600)
    async with InfluxWriter(cfg) as writer:
        writer.submit(points(250))
        await eventually(lambda: writer.stats()["points_written"] == 200)
        # The last 50 wait for the time bound (an hour here) or for the exit flush.
        assert writer.stats()["buffer_size"] == 50
        assert writer.stats()["batches_written"] == 2
    assert count(influxd, influx_db) == 250
    assert writer.stats()["batches_written"] == 3


async def test_batches_bounded_by_time(influxd: Influxd, influx_db: str, tmp_path: Path) -> None:
    cfg = settings_for(influxd.url, influx_db, tmp_path, batch_size=10_000, flush_interval_s=0.1)
    async with InfluxWriter(cfg) as writer:
        writer.submit(points(5))
        await eventually(lambda: count(influxd, influx_db) == 5)
        writer.submit(points(5, start=5))
        await eventually(lambda: count(influxd, influx_db) == 10)
        assert writer.stats()["batches_written"] == 2


async def test_partial_write_keeps_the_good_points(
    influxd: Influxd, influx_db: str, tmp_path: Path
) -> None:
    good = points(10)
    unparsable = "telemetry,device=d1,grid=g1,site=s1 v= 1795334400999"
    type_conflict = 'telemetry,device=d2,grid=g1,site=s1 v="text" 1795334400998'
    async with InfluxWriter(settings_for(influxd.url, influx_db, tmp_path)) as writer:
        writer.submit([*good[:5], unparsable, type_conflict, *good[5:]])
        writer.submit(["two\nlines", ""])
        await eventually(lambda: writer.stats()["points_dropped_invalid"] == 4)
        await eventually(lambda: writer.stats()["points_written"] == 10)
    assert count(influxd, influx_db) == 10
    assert writer.stats()["points_submitted"] == 14


async def test_retention_policies_and_continuous_queries_after_start(
    influxd: Influxd, influx_db: str, tmp_path: Path
) -> None:
    cfg = settings_for(influxd.url, influx_db, tmp_path, raw_retention="30d")
    async with InfluxWriter(cfg):
        pass
    rps = influxd.query(f'SHOW RETENTION POLICIES ON "{influx_db}"')
    values = rps["results"][0]["series"][0]["values"]  # type: ignore[index]
    by_name = {row[0]: row for row in values}
    assert by_name["watchpost_raw"][1] == "720h0m0s"
    assert by_name["watchpost_raw"][4] is True  # default RP
    assert by_name["watchpost_1y"][1] == "8760h0m0s"
    cqs = influxd.query("SHOW CONTINUOUS QUERIES")
    ours = next(
        s
        for s in cqs["results"][0]["series"]  # type: ignore[index]
        if s["name"] == influx_db
    )
    names = {row[0] for row in ours["values"]}
    assert names == {"wp_telemetry_1m", "wp_event_1m", "wp_alarm_1m", "wp_status_1m"}
    assert all("watchpost_1y" in row[1] for row in ours["values"])


async def test_database_created_when_missing(influxd: Influxd, tmp_path: Path) -> None:
    db = f"new_{tmp_path.name[-8:].replace('-', '_')}"
    async with InfluxWriter(settings_for(influxd.url, db, tmp_path)) as writer:
        writer.submit(points(3))
    assert count(influxd, db) == 3
    influxd.query(f'DROP DATABASE "{db}"')


async def test_disabled_writer_accepts_and_ignores(tmp_path: Path) -> None:
    async with InfluxWriter(InfluxSettings(spill_dir=str(tmp_path / "s"))) as writer:
        writer.submit(points(3))
        assert writer.stats()["server_version"] == "disabled"
    assert not (tmp_path / "s").exists()


def test_bench_writes_every_point(influxd: Influxd) -> None:
    from simulators.bench_influx import bench_influx

    result = bench_influx(3000, 1000, url=influxd.url)
    assert result["batches"] == 3
    assert result["points_spilled"] == 0
    assert result["batch_p99_ms"] >= result["batch_p50_ms"] > 0


class AuthInfluxd(Influxd):
    """An influxd with authentication on (the shared fixture's has none)."""

    def write_config(self) -> Path:
        """Write the base config with `auth-enabled = true` in [http]."""
        conf = super().write_config()
        text = conf.read_text(encoding="utf-8")
        conf.write_text(text.replace("[http]\n", "[http]\n  auth-enabled = true\n"), "utf-8")
        return conf


def _admin_query(server: Influxd, q: str, db: str = "") -> Any:
    resp = httpx.post(f"{server.url}/query", data={"q": q, "db": db}, auth=("admin", "pw"))
    assert resp.status_code == 200 and "error" not in resp.text, resp.text
    return resp.json()


async def test_user_without_admin_rights_still_writes(tmp_path: Path) -> None:
    server = AuthInfluxd(tmp_path / "influxd")
    await asyncio.to_thread(server.start)
    try:
        # The first user may be created without credentials; everything after needs them.
        for q in (
            "CREATE USER admin WITH PASSWORD 'pw' WITH ALL PRIVILEGES",
            'CREATE DATABASE "wp"',
            "CREATE USER hub WITH PASSWORD 'hub-pw'",
            'GRANT WRITE ON "wp" TO hub',
        ):
            await asyncio.to_thread(_admin_query, server, q)
        cfg = settings_for(server.url, "wp", tmp_path, username="hub", password="hub-pw")
        async with InfluxWriter(cfg) as writer:  # set-up refused (no admin): logged, goes on
            writer.submit(points(20))
            await eventually(lambda: writer.stats()["points_written"] == 20)
        cfg = settings_for(server.url, "wp", tmp_path, username="hub", password="wrong")
        async with InfluxWriter(cfg) as writer:  # 401: kept on disk, never dropped
            writer.submit(points(5, start=20))
            await eventually(lambda: writer.stats()["points_spilled"] == 5)
        answer = await asyncio.to_thread(
            _admin_query, server, 'SELECT count("v") FROM telemetry', "wp"
        )
        assert answer["results"][0]["series"][0]["values"][0][1] == 20
    finally:
        await asyncio.to_thread(server.stop)


async def test_submit_never_raises(influxd: Influxd, influx_db: str, tmp_path: Path) -> None:
    def broken() -> Iterator[str]:
        yield points(1)[0]
        raise RuntimeError("a generator that fails half way")

    async with InfluxWriter(settings_for(influxd.url, influx_db, tmp_path)) as writer:
        writer.submit(None)  # type: ignore[arg-type]
        writer.submit(broken())
        writer.submit(points(1, start=1)[0])  # one line as a bare string, not its characters
        writer.submit([b"bytes"])  # type: ignore[list-item]
        await eventually(lambda: writer.stats()["points_written"] == 2)
        stats = writer.stats()
    assert (stats["points_submitted"], stats["points_dropped_invalid"]) == (3, 1)
    assert count(influxd, influx_db) == 2


@given(
    st.lists(st.one_of(st.text(alphabet="ab\n\r", max_size=4), st.binary(max_size=2)), max_size=6)
)
def test_the_bulk_check_of_submitted_lines_agrees_with_the_per_line_check(
    lines: list[str | bytes],
) -> None:
    """The C-speed check `submit` makes first passes exactly the lists that need no sorting."""
    one_by_one = bool(lines) and all(
        isinstance(line, str) and line and "\n" not in line and "\r" not in line for line in lines
    )
    assert _all_single_lines(lines) == one_by_one  # type: ignore[arg-type]
