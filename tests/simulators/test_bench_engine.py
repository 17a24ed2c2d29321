"""`simulators.bench_engine` runs end to end on a small registry (figures not asserted)."""

from __future__ import annotations

import argparse
from pathlib import Path

from simulators.bench_engine import _run


async def test_the_engine_bench_runs_every_phase(tmp_path: Path) -> None:
    args = argparse.Namespace(
        homes=5, devices=50, history=40, batch=20, sos=2, one_by_one=5, url=""
    )
    out = await _run(args, tmp_path)
    assert out["devices"] > 50
    for key in ("status_first_per_s", "status_routine_per_s", "test_cpu_us", "sos_ms_median"):
        assert out[key] > 0
    assert 10 <= out["sos_statements"] <= 30  # BEGIN … the outbox; COMMIT is not a statement
