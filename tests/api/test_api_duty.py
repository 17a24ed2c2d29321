"""The duty watch on a real hub: "nobody on duty" pages the duty officer; roster and care
coverage reach InfluxDB under the names Grafana reads (`on_duty`, `care_coverage`)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.store import Store
from hub.store.people import CareVisitRow
from protocol.messages import utcnow
from simulators.services import Influxd, Mosquitto
from tests.hub.receiver import hub_settings, running_hub, write_site


def points(influxd: Influxd, db: str, measurement: str, site: str) -> list[dict[str, Any]]:
    result = influxd.query(f"SELECT * FROM \"{measurement}\" WHERE site = '{site}'", db=db)
    out = []
    for rows in result["results"][0].get("series") or []:  # type: ignore[index]
        out += [dict(zip(rows["columns"], v, strict=True)) for v in rows["values"]]
    return out


@pytest.mark.integration
async def test_nobody_on_duty_is_an_alarm_and_rosters_reach_influxdb(
    tmp_path: Path, mosquitto: Mosquitto, influxd: Influxd, influx_db: str, site_id: str
) -> None:
    settings = hub_settings(
        tmp_path,
        mosquitto.url,
        write_site(tmp_path, site_id),
        influx=influxd.url,
        database=influx_db,
        duty_watch_s=0.5,
    )
    today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    q = f"?site={site_id}"
    async with running_hub(settings) as api:
        absent = {"worker": "w-li-na", "day": today, "kind": "absent"}
        assert (await api.post(f"/api/v1/rosters/exceptions{q}", json=absent)).status_code == 201
        plan = {"interval_days": 30}
        assert (await api.put(f"/api/v1/care/plans/r-chen-shufen{q}", json=plan)).status_code == 200
        # Wang Xiuying is visited every 2 days; the last visit was 4 days ago: overdue past grace.
        weekly = {"interval_days": 2}
        assert (
            await api.put(f"/api/v1/care/plans/r-wang-xiuying{q}", json=weekly)
        ).status_code == 200
        store = Store(settings.store)
        with store.session(write=True) as s:
            s.add(CareVisitRow(site=site_id, resident="r-wang-xiuying", worker="w-zhang-wei",
                               ts=utcnow() - timedelta(days=4), outcome="ok", note=""))  # fmt: skip
        store.close()
        alarm: dict[str, Any] | None = None
        late: dict[str, Any] | None = None
        on_duty: list[dict[str, Any]] = []
        care: list[dict[str, Any]] = []
        async with asyncio.timeout(20):
            while alarm is None or late is None or not on_duty or not care:
                listed = (await api.get("/api/v1/alarms", params={"cls": "trouble"})).json()
                alarm = next((a for a in listed if a["reason"] == "nobody_on_duty"), None)
                late = next((a for a in listed if a["reason"] == "care_overdue"), None)
                on_duty = points(influxd, influx_db, "on_duty", site_id)
                care = points(influxd, influx_db, "care_coverage", site_id)
                await asyncio.sleep(0.2)
        detail = (await api.get(f"/api/v1/alarms/{alarm['id']}")).json()
        overdue = (await api.get(f"/api/v1/alarms/{late['id']}")).json()
    assert [p["worker"] for p in overdue["alarm"]["paged"]] == ["w-duty-1"]
    assert any("r-wang-xiuying" in h["note"] for h in overdue["history"])
    assert [p["worker"] for p in detail["alarm"]["paged"]] == ["w-duty-1"]
    assert any(f"{site_id}/grid-2" in h["note"] for h in detail["history"])
    grid2 = [p["count"] for p in on_duty if p["grid"] == "grid-2" and p["role"] == "grid_worker"]
    grid1 = [p["count"] for p in on_duty if p["grid"] == "grid-1" and p["role"] == "grid_worker"]
    assert set(grid2) <= {0, 1} and grid2[-1] == 0 and grid1[-1] == 1
    last = {p["grid"]: (p["due"], p["visited"], p["coverage"]) for p in care}
    assert last["grid-2"] == (1, 0, 0.0)
    assert last["grid-1"][0] == 1
