"""A real influxd holding six simulated hours of one community (`dashboards.scenario`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dashboards.macros import Range, Value
from dashboards.scenario import HOURS, scenario_lines
from simulators.services import Influxd

SITE = "sunny-gardens"


@dataclass(frozen=True)
class Community:
    """A database holding the scenario, and when it ends."""

    server: Influxd
    db: str
    end: datetime

    def run(self, query: str, values: dict[str, Value] | None = None, **kw: Any) -> list[Any]:
        """Expand `query` as Grafana would, run it and return its series (no error allowed)."""
        choice = Range(self.end, timedelta(hours=HOURS), {"site": SITE, **(values or {})})
        expanded = choice.expand(query, **kw)
        answer = self.server.query(expanded, db=self.db)
        (result,) = answer["results"]  # type: ignore[misc]
        assert "error" not in result, f"{result['error']}\n{expanded}"
        series: list[Any] = result.get("series", [])
        return series


@pytest.fixture(scope="session")
def community(influxd_server: Influxd) -> Iterator[Community]:
    """Fill a fresh database with the simulated hours."""
    server, db, end = influxd_server, f"dash_{uuid.uuid4().hex[:10]}", datetime.now(UTC)
    server.create_database(db)
    lines = scenario_lines(SITE, end)
    for start in range(0, len(lines), 5000):
        resp = httpx.post(
            f"{server.url}/write",
            params={"db": db, "precision": "ms"},
            content="\n".join(lines[start : start + 5000]).encode(),
        )
        assert resp.status_code == 204, resp.text
    yield Community(server, db, end)
    server.query(f'DROP DATABASE "{db}"')
