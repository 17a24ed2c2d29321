"""`watchpost bench` runs and writes a well-formed report (no timings are asserted)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from simulators import bench
from simulators.bench_figures import Result, percentile


def test_quick_codec_and_fall_write_a_report_of_positive_figures(tmp_path: Path) -> None:
    report = tmp_path / "out" / "bench.json"

    assert bench.main(only=["codec", "fall"], quick=True, report=report) == 0

    doc = json.loads(report.read_text(encoding="utf-8"))
    assert doc["quick"] is True
    assert doc["failed"] == []
    assert doc["machine"]["cpus"] >= 1
    speed = doc["machine"]["loop_10m_s"]
    assert set(speed) == {"start", "end"}
    assert all(math.isfinite(v) and v > 0 for v in speed.values())
    assert list(doc["benchmarks"]) == ["codec", "fall"]
    for name, entry in doc["benchmarks"].items():
        assert entry["skipped"] is None, name
        assert entry["title"]
        figures = entry["figures"]
        assert figures, name
        assert set(entry["units"]) == set(figures)
        for key, value in figures.items():
            assert isinstance(value, int | float), (name, key)
            assert math.isfinite(value) and value > 0, (name, key, value)
    codec = doc["benchmarks"]["codec"]["figures"]
    assert {"decode_event_us", "encode_event_us", "decode_event_per_s"} <= set(codec)
    fall = doc["benchmarks"]["fall"]["figures"]
    assert {"samples_per_s", "day_50hz_cpu_s"} <= set(fall)


def test_an_unknown_benchmark_name_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(only=["nope"], quick=True, report=None) == 2
    assert "codec" in capsys.readouterr().out


def test_a_failing_benchmark_is_reported_and_sets_the_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(quick: bool, note: object) -> Result:
        raise RuntimeError("boom")

    monkeypatch.setitem(bench.BENCHMARKS, "codec", broken)
    report = tmp_path / "bench.json"

    assert bench.main(only=["codec"], quick=True, report=report) == 1

    entry = json.loads(report.read_text(encoding="utf-8"))["benchmarks"]["codec"]
    assert "boom" in entry["skipped"]


def test_percentile_interpolates_and_copes_with_few_values() -> None:
    assert percentile([], 50) == 0.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([float(v) for v in range(1, 101)], 50) == pytest.approx(50.5)


def test_influx_is_skipped_with_a_note_when_its_module_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "INFLUX_MODULE", "simulators.no_such_bench_module")
    report = tmp_path / "bench.json"

    assert bench.main(only=["influx"], quick=True, report=report) == 0

    entry = json.loads(report.read_text(encoding="utf-8"))["benchmarks"]["influx"]
    assert "not available" in entry["skipped"]
    assert entry["figures"] == {}
