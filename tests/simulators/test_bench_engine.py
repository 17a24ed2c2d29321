"""`simulators.bench_engine`, `bench_wal` and `bench_event_index` run end to end, small (figures
not asserted)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from simulators.bench_engine import _run
from simulators.bench_event_index import LAYOUTS
from simulators.bench_wal import SETTINGS


async def test_the_engine_bench_runs_every_phase(tmp_path: Path) -> None:
    args = argparse.Namespace(
        homes=5, devices=50, history=40, batch=20, sos=2, one_by_one=5, url=""
    )
    out = await _run(args, tmp_path)
    assert out["devices"] > 50
    keys = ("status_first_per_s", "status_routine_per_s", "test_cpu_us", "bare_cpu_us",
            "test_shuffled_cpu_us", "bare_shuffled_cpu_us")  # fmt: skip
    for key in (*keys, "sos_ms_median"):
        assert out[key] > 0
    assert 10 <= out["sos_statements"] <= 30  # BEGIN … the outbox; COMMIT is not a statement


def test_the_wal_bench_prints_every_setting() -> None:
    """`simulators.bench_wal` runs its settings on small files and prints a row for each."""
    rows = [line for line in _printed("simulators.bench_wal") if "µs/event" not in line]
    for name in SETTINGS:
        assert any(line.startswith(name) for line in rows), rows


def test_the_event_index_bench_prints_every_layout() -> None:
    """`simulators.bench_event_index` writes into each layout and prints a row for each."""
    rows = _printed("simulators.bench_event_index")
    for name in LAYOUTS:
        assert any(line.startswith(name) for line in rows), rows


def _printed(module: str) -> list[str]:
    """The lines `module` prints, run small: 300 devices, 2 rounds."""
    done = subprocess.run(
        [sys.executable, "-m", module, "--devices", "300", "--rounds", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return done.stdout.splitlines()
