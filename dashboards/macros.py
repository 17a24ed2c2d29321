"""Expand a panel's InfluxQL the way Grafana does before sending it to InfluxDB 1.x.

- `$timeFilter` → `time >= <from>ms and time <= <to>ms` (a panel's `timeFrom` overrides the
  dashboard's range, as in Grafana);
- `$__interval` → the range divided by the panel's data points, rounded up to Grafana's ladder
  of "nice" intervals and never below the datasource's `timeInterval` (10 s here);
- template variables inside `/^$var$/`: one value regex-escaped, several as `(a|b)`, "All" as
  the variable's `allValue` (`.*`) unescaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

_NICE_S: tuple[int, ...] = (
    10,
    15,
    20,
    30,
    60,
    120,
    300,
    600,
    900,
    1200,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
)
_NICE_S += (86400, 604800)
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|\[\]{}/]")
ALL = object()  # the "All" choice of a multi-value variable
Value = str | Sequence[str] | object


def regex_escape(text: str) -> str:
    """Escape a value for an InfluxQL regex (Grafana's `kbn.regexEscape`)."""
    return _REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def interval(start: datetime, end: datetime, points: int = 1000, minimum_s: int = 10) -> str:
    """Return `$__interval`: range / points on Grafana's ladder, at least `minimum_s`."""
    raw = (end - start).total_seconds() / points
    seconds = next((s for s in _NICE_S if s >= max(raw, minimum_s)), _NICE_S[-1])
    if seconds % 86400 == 0:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def format_value(value: Value) -> str:
    """Return a variable's value as Grafana writes it into an InfluxQL regex."""
    if value is ALL:
        return ".*"
    if isinstance(value, str):
        return regex_escape(value)
    values = [regex_escape(v) for v in value]  # type: ignore[attr-defined]
    return values[0] if len(values) == 1 else "(" + "|".join(values) + ")"


def parse_relative(text: str) -> timedelta:
    """Return the length of a Grafana relative range such as `7d`, `6h` or `now-24h`."""
    match = re.fullmatch(r"(?:now-)?(\d+)([smhdw])", text)
    if not match:
        raise ValueError(f"unsupported relative time {text!r}")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    return timedelta(**{unit[match.group(2)]: int(match.group(1))})


@dataclass(frozen=True)
class Range:
    """The dashboard's time range and variable choices, as a person picked them."""

    end: datetime = field(default_factory=lambda: datetime.now(UTC))
    length: timedelta = timedelta(hours=6)
    values: Mapping[str, Value] = field(default_factory=dict)

    def expand(
        self, query: str, time_from: str | None = None, min_interval: str | None = None
    ) -> str:
        """Return `query` with every macro and variable replaced (a panel's `timeFrom` and
        `interval` override the range and the datasource's minimum interval)."""
        start = self.end - (parse_relative(time_from) if time_from else self.length)
        least = int(parse_relative(min_interval).total_seconds()) if min_interval else 10
        to_ms = int(self.end.timestamp() * 1000)
        out = query.replace(
            "$timeFilter", f"time >= {int(start.timestamp() * 1000)}ms and time <= {to_ms}ms"
        )
        out = out.replace("$__interval", interval(start, self.end, minimum_s=max(10, least)))
        out = re.sub(r"\$\{?(\w+)\}?", lambda m: format_value(self.values[m.group(1)]), out)
        return out
