"""InfluxDB down and back: points spill to disk and are back-filled, none lost or doubled."""

from __future__ import annotations

import asyncio
import http.server
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.influx import InfluxWriter
from hub.influx.transport import Transport, major_version
from simulators.services import Influxd, free_port
from tests.hub.test_influx_writer import count, eventually, points, settings_for


@pytest.fixture
def own_influxd(tmp_path: Path) -> Iterator[Influxd]:
    """Start an influxd only this test stops and restarts (not the shared session server)."""
    server = Influxd(tmp_path / "influxd")
    server.start()
    yield server
    server.stop()


def distinct_values(server: Influxd, db: str) -> int:
    """Return how many distinct `v` values (one per submitted point) the database holds."""
    answer = server.query('SELECT count(distinct("v")) FROM telemetry', db=db)
    return int(answer["results"][0]["series"][0]["values"][0][1])  # type: ignore[index]


def rolled_up_mean(server: Influxd, db: str) -> float | None:
    """Return the 1-minute rollup of `v` in the downsampled RP, or None while there is none."""
    answer = server.query('SELECT "mean_v" FROM "watchpost_1y"."telemetry"', db=db)
    series = answer["results"][0].get("series")  # type: ignore[index]
    return float(series[0]["values"][0][1]) if series else None


async def test_down_then_back_loses_nothing(own_influxd: Influxd, tmp_path: Path) -> None:
    cfg = settings_for(own_influxd.url, "outage", tmp_path, batch_size=50)
    async with InfluxWriter(cfg) as writer:
        writer.submit(points(100))
        await eventually(lambda: writer.stats()["points_written"] == 100)
        await asyncio.to_thread(own_influxd.stop)
        for chunk in range(6):  # several batches while down: the first retries, then spill
            writer.submit(points(50, start=100 + 50 * chunk))
            await asyncio.sleep(0.06)
        await eventually(lambda: writer.stats()["points_spilled"] == 300)
        stats = writer.stats()
        assert stats["reachable"] == 0
        assert stats["spill_files"] == len(list((tmp_path / "spill").glob("*.lp"))) > 1
        await asyncio.to_thread(own_influxd.start)  # same port, same data directory
        writer.submit(points(20, start=400))  # may spill too, until the back-fill succeeds
        await eventually(lambda: writer.stats()["spill_files"] == 0)
        await eventually(lambda: writer.stats()["points_written"] == 420)
        stats = writer.stats()
    assert stats["points_backfilled"] == stats["points_spilled"] >= 300
    in_hand = stats["buffer_size"] + stats["points_spilled"] - stats["points_backfilled"]  # type: ignore[operator]
    assert stats["points_submitted"] == stats["points_written"] + in_hand
    assert stats["reachable"] == 1
    assert stats["batches_failed"] >= 1
    assert count(own_influxd, "outage") == 420
    assert distinct_values(own_influxd, "outage") == 420
    assert list((tmp_path / "spill").iterdir()) == []


async def test_spilled_files_are_backfilled_on_start(
    influxd: Influxd, influx_db: str, tmp_path: Path
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    async with InfluxWriter(settings_for(nobody, influx_db, tmp_path, batch_size=40)) as writer:
        writer.submit(points(100))
        await eventually(lambda: writer.stats()["buffer_size"] == 0)
        writer.submit(points(7, start=100))  # left in memory at exit: spilled by __aexit__
    assert writer.stats()["reachable"] == 0
    assert writer.stats()["points_spilled"] == 107
    assert len(list((tmp_path / "spill").glob("*.lp"))) >= 2

    async with InfluxWriter(settings_for(influxd.url, influx_db, tmp_path)) as restarted:
        await eventually(lambda: restarted.stats()["spill_files"] == 0)
        assert restarted.stats()["points_backfilled"] == 107
        # Hours old, so no continuous query will see them: the writer rolls them up itself.
        await eventually(lambda: rolled_up_mean(influxd, influx_db) is not None)
    assert count(influxd, influx_db) == 107
    assert rolled_up_mean(influxd, influx_db) == pytest.approx(53.0)
    assert list((tmp_path / "spill").iterdir()) == []


def stopped(pid: int) -> bool:
    """Return whether every thread of a process has stopped (SIGSTOP is delivered lazily)."""
    states = [
        stat.read_text().rsplit(")", 1)[1].split()[0]
        for stat in Path(f"/proc/{pid}/task").glob("*/stat")
    ]
    return bool(states) and all(state == "T" for state in states)


async def test_exit_is_bounded_when_influxd_hangs(own_influxd: Influxd, tmp_path: Path) -> None:
    assert own_influxd.proc is not None
    pid = own_influxd.proc.pid
    cfg = settings_for(own_influxd.url, "hang", tmp_path, timeout_s=60.0, close_timeout_s=0.5)
    writer = InfluxWriter(cfg)
    try:
        async with asyncio.timeout(15):  # an unbounded exit would wait the 60 s HTTP timeout
            async with writer:
                writer.submit(points(10))
                await eventually(lambda: writer.stats()["points_written"] == 10)
                os.kill(pid, signal.SIGSTOP)  # alive but silent, like a wedged server
                await eventually(lambda: stopped(pid))
                writer.submit(points(90, start=10))
                await eventually(lambda: writer.stats()["buffer_size"] == 90)
    finally:
        os.kill(pid, signal.SIGCONT)
    assert writer.stats()["points_spilled"] == 90

    async with InfluxWriter(settings_for(own_influxd.url, "hang", tmp_path)) as restarted:
        await eventually(lambda: restarted.stats()["spill_files"] == 0)
    assert count(own_influxd, "hang") == 100


async def test_interrupted_spill_file_keeps_complete_lines(
    influxd: Influxd, influx_db: str, tmp_path: Path
) -> None:
    spill = tmp_path / "spill"
    spill.mkdir()
    lines = points(5)
    (spill / "0000000000000003.tmp").write_text("\n".join(lines) + "\ntelemetry,site=s1 v=1")
    (spill / "0000000000000002.lp").write_text("\n".join(points(3, start=10)) + "\n")
    async with InfluxWriter(settings_for(influxd.url, influx_db, tmp_path)) as writer:
        await eventually(lambda: writer.stats()["spill_files"] == 0)
    assert count(influxd, influx_db) == 8


class _Ping2x(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(204)
        self.send_header("X-Influxdb-Version", "v2.7.10")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


async def test_detects_2x_from_ping_header(tmp_path: Path) -> None:
    # A stub that answers /ping only: this tests version detection, not the 2.x write path.
    stub = http.server.HTTPServer(("127.0.0.1", 0), _Ping2x)
    thread = threading.Thread(target=stub.serve_forever, name="ping-stub", daemon=True)
    thread.start()
    try:
        cfg = settings_for(f"http://127.0.0.1:{stub.server_port}", "b", tmp_path, token="t")
        transport = Transport(cfg)
        await transport.connect()
        assert (transport.major, transport.version) == (2, "v2.7.10")
        await transport.aclose()
    finally:
        stub.shutdown()
        stub.server_close()
        thread.join(5)


def test_major_version() -> None:
    assert major_version("1.6.7~rc0") == 1
    assert major_version("v2.7.10") == 2
    assert major_version("2.0.0-beta.1") == 2
    assert major_version(None) is None
    assert major_version("OSS") is None


async def test_2x_client_errors_surface_and_nothing_is_dropped(
    influxd: Influxd, influx_db: str, tmp_path: Path
) -> None:
    # influxdb-client against 1.6.7 gets 404 (no /api/v2/write): its default batching writer
    # would log and drop. Ours raises, so the points are kept on disk for later.
    cfg = settings_for(influxd.url, influx_db, tmp_path, api_version="2", token="t", org="o")
    async with InfluxWriter(cfg) as writer:
        writer.submit(points(25))
        await eventually(lambda: writer.stats()["points_spilled"] == 25)
        assert writer.stats()["points_written"] == 0
        assert writer.stats()["batches_failed"] >= 2
    assert count(influxd, influx_db) == 0
    assert sum(len(p.read_text().splitlines()) for p in (tmp_path / "spill").glob("*.lp")) == 25


async def test_full_spill_keeps_the_newest_points(
    influxd: Influxd, influx_db: str, tmp_path: Path
) -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    limit_mb = 4000 / 1024 / 1024  # about 4 kB: room for 40-odd points
    cfg = settings_for(nobody, influx_db, tmp_path, batch_size=10, max_spill_mb=limit_mb)
    async with InfluxWriter(cfg) as writer:
        for start in range(0, 200, 10):
            writer.submit(points(10, start=start))
            await eventually(lambda: writer.stats()["buffer_size"] == 0)
    stats = writer.stats()
    dropped = stats["points_dropped_spill_full"]
    assert isinstance(dropped, int) and 0 < dropped < 200
    assert stats["spill_bytes"] <= 4000
    assert stats["points_spilled"] == 200

    async with InfluxWriter(settings_for(influxd.url, influx_db, tmp_path)) as restarted:
        await eventually(lambda: restarted.stats()["spill_files"] == 0)
    assert count(influxd, influx_db) == 200 - dropped
    # Kept: the oldest file (claimed by the back-fill that kept retrying it) and the newest.
    kept = influxd.query('SELECT "v" FROM telemetry', db=influx_db)
    values = [row[1] for row in kept["results"][0]["series"][0]["values"]]  # type: ignore[index]
    assert values == list(range(10)) + list(range(10 + dropped, 200))


async def test_full_memory_buffer_spills_without_waiting_for_retries(
    own_influxd: Influxd, tmp_path: Path
) -> None:
    patient = {"retries_before_spill": 1000, "backoff_initial_s": 30.0, "backoff_max_s": 60.0}
    cfg = settings_for(
        own_influxd.url, "full", tmp_path, batch_size=50, max_buffer_points=100, **patient
    )
    async with InfluxWriter(cfg) as writer:
        writer.submit(points(10))
        await eventually(lambda: writer.stats()["points_written"] == 10)
        await asyncio.to_thread(own_influxd.stop)
        writer.submit(points(50, start=10))
        await eventually(lambda: writer.stats()["batches_failed"] == 1)  # now in a 30 s backoff
        writer.submit(points(150, start=60))  # past max_buffer_points: spill at once
        await eventually(lambda: writer.stats()["points_spilled"] == 200, within_s=10)
    await asyncio.to_thread(own_influxd.start)
    async with InfluxWriter(settings_for(own_influxd.url, "full", tmp_path)) as restarted:
        await eventually(lambda: restarted.stats()["spill_files"] == 0)
    assert count(own_influxd, "full") == 210
