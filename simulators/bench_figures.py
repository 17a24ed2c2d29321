"""What a benchmark returns: named figures with units, notes, or the reason it was skipped.

Every benchmark of `watchpost bench` (see `simulators.bench`) returns one `Result`; the driver
prints it as a table and writes `Result.as_json()` into the JSON report.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

Note = Callable[[str], None]
"""Progress callback: a benchmark calls it with a short description of its current step."""


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured number: a stable key for JSON, a label for people, a unit."""

    key: str
    label: str
    value: float | int
    unit: str


@dataclass
class Result:
    """The figures of one benchmark, or why it did not run."""

    name: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    def add(self, key: str, label: str, value: float | int, unit: str = "") -> None:
        """Append one figure (rounded to 4 significant digits for floats)."""
        self.figures.append(Figure(key, label, _round(value), unit))

    def value(self, key: str) -> float | int:
        """Return the value of the figure named `key`."""
        for figure in self.figures:
            if figure.key == key:
                return figure.value
        raise KeyError(key)

    def as_json(self) -> dict[str, Any]:
        """Return `{"title", "figures": {key: value}, "units": {key: unit}, "notes", "skipped"}`."""
        return {
            "title": self.title,
            "figures": {f.key: f.value for f in self.figures},
            "units": {f.key: f.unit for f in self.figures},
            "notes": list(self.notes),
            "skipped": self.skipped,
        }


def _round(value: float | int) -> float | int:
    if isinstance(value, int) or value == 0 or not math.isfinite(value):
        return value
    digits = max(0, 3 - math.floor(math.log10(abs(value))))
    return round(value, digits)


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-th percentile (0-100) of `values`, interpolated; 0.0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, int(q) - 1))]


def rss_bytes() -> int:
    """Return this process's resident set size (psutil if installed, else /proc/self/statm)."""
    try:
        import psutil  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        import os
        from pathlib import Path

        pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    return int(psutil.Process().memory_info().rss)
