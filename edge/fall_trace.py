"""Run the fall detector over a recorded accelerometer trace (CSV); see docs/fall.md.

The CSV has a header row naming at least the columns `t` (seconds, increasing) and `ax`,
`ay`, `az` (acceleration in g); other columns are ignored. The median sample interval must be
at most 1/25 s: the detector needs 25 Hz or more.
"""

from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path

from edge.fall import FallDetection, FallDetector
from protocol.device_config import FallConfig

MIN_RATE_HZ = 25.0
REQUIRED_COLUMNS = ("t", "ax", "ay", "az")
# Allow timestamps rounded to milliseconds: 25 Hz stored as 0.040/0.041 s must still pass.
_RATE_SLACK = 1.03


def read_trace(path: Path) -> list[tuple[float, float, float, float]]:
    """Read (t, ax, ay, az) rows from a trace CSV, raising ValueError on any problem."""
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise ValueError(
                f"{path}: missing column(s) {', '.join(missing)}; the header must name "
                f"t,ax,ay,az (found: {', '.join(header) or 'no header'})"
            )
        reader.fieldnames = header
        rows: list[tuple[float, float, float, float]] = []
        for line, record in enumerate(reader, start=2):
            try:
                row = tuple(float(record[c]) for c in REQUIRED_COLUMNS)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{line}: t,ax,ay,az must be numbers ({exc})") from exc
            if not all(math.isfinite(v) for v in row):
                raise ValueError(f"{path}:{line}: values must be finite numbers")
            if rows and row[0] <= rows[-1][0]:
                raise ValueError(f"{path}:{line}: t={row[0]} does not increase")
            rows.append((row[0], row[1], row[2], row[3]))
    _check_rate(path, rows)
    return rows


def _check_rate(path: Path, rows: list[tuple[float, float, float, float]]) -> None:
    """Reject traces too short to judge or sampled below 25 Hz (median interval)."""
    if len(rows) < 2:
        raise ValueError(f"{path}: needs at least two samples, found {len(rows)}")
    gaps = sorted(b[0] - a[0] for a, b in itertools.pairwise(rows))
    median = gaps[len(gaps) // 2]
    if median > _RATE_SLACK / MIN_RATE_HZ:
        raise ValueError(
            f"{path}: sample rate is about {1 / median:.1f} Hz; "
            f"the fall detector needs at least {MIN_RATE_HZ:.0f} Hz"
        )


def detect_falls_csv(
    path: Path, config: FallConfig | None = None, *, upright_axis: str = "z"
) -> list[FallDetection]:
    """Return every fall the detector finds in a trace CSV (t in s, ax/ay/az in g)."""
    rows = read_trace(Path(path))
    detector = FallDetector(config or FallConfig(), upright_axis)
    found = []
    for t, ax, ay, az in rows:
        hit = detector.update(t, ax, ay, az)
        if hit is not None:
            found.append(hit)
    return found
