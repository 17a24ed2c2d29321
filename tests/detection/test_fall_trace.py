"""Fall detection over CSV traces: the `detect-falls` input format."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.fall_trace import detect_falls_csv
from protocol.device_config import FallConfig
from simulators.signals import Timeline, activity


def test_trace_with_two_falls(tmp_path: Path) -> None:
    tl = Timeline(11).walk(5).fall("forward").rest(10).get_up().walk(5).fall("sideways").rest(8)
    path = tmp_path / "trace.csv"
    tl.trace(50, jitter=0.2).write_csv(path)
    hits = detect_falls_csv(path)
    assert [round(h.t) for h in hits] == [round(lb.impact_t) for lb in tl.falls]


def test_extra_columns_and_spaces_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "trace.csv"
    rows = ["temp, t, ax, ay, az"]
    for t, x, y, z in activity("backward", 2).samples(25):
        rows.append(f"21.5, {t:.4f}, {x:.4f}, {y:.4f}, {z:.4f}")
    path.write_text("\n".join(rows) + "\n")
    assert len(detect_falls_csv(path, FallConfig())) == 1


def test_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "trace.csv"
    path.write_text("t,ax,ay\n0,0,0\n0.01,0,0\n")
    with pytest.raises(ValueError, match=r"missing column.*az"):
        detect_falls_csv(path)


def test_rate_too_low(tmp_path: Path) -> None:
    path = tmp_path / "trace.csv"
    path.write_text("t,ax,ay,az\n" + "".join(f"{i * 0.05},0,0,1\n" for i in range(50)))
    with pytest.raises(ValueError, match=r"about 20\.0 Hz.*at least 25 Hz"):
        detect_falls_csv(path)


def test_25hz_with_millisecond_timestamps_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "trace.csv"
    path.write_text("t,ax,ay,az\n" + "".join(f"{i * 0.041:.3f},0,0,1\n" for i in range(50)))
    assert detect_falls_csv(path) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("t,ax,ay,az\n0,0,0,1\n0.01,x,0,1\n", "must be numbers"),
        ("t,ax,ay,az\n0,0,0,1\n0,0,0,1\n", "does not increase"),
        ("t,ax,ay,az\n0,0,0,1\n", "at least two samples"),
        ("t,ax,ay,az\n0,0,0,1\n0.01,nan,0,1\n", "finite"),
        ("", "no header"),
    ],
)
def test_bad_rows(tmp_path: Path, body: str, problem: str) -> None:
    path = tmp_path / "trace.csv"
    path.write_text(body)
    with pytest.raises(ValueError, match=problem):
        detect_falls_csv(path)
