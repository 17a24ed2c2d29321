"""Rosters drive routing and survive a registry re-import; care rounds: due, visits, coverage."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from hub.alarms.actions import Notify
from protocol.messages import utcnow
from protocol.site_config import load_site
from tests.api.kit import Api
from tests.hub.receiver import write_site


def paged(api: Api) -> list[str]:
    return [a.worker for a in api.dispatched if isinstance(a, Notify)]


def today() -> str:
    return utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


def test_an_absent_grid_worker_is_not_paged_and_a_swap_covers(api: Api, tmp_path) -> None:
    me = api.login("duty")
    body = {"absent": "w-zhang-wei", "replacement": "w-li-na", "day": today()}
    assert api.client.post("/api/v1/rosters/swap", headers=me, json=body).status_code == 201
    # The registry is imported again (as at every hub start): the roster stays.
    api.ctx.store.import_registry(load_site(write_site(tmp_path, api.site)))
    now = {d["grid"]: [w["id"] for w in d["workers"]] for d in
           api.client.get("/api/v1/rosters/now", headers=me).json() if d["grid"]}  # fmt: skip
    assert "w-zhang-wei" not in now["grid-1"]
    alarm = api.raise_sos()
    from_api = api.client.get(f"/api/v1/alarms/{alarm}", headers=me).json()["alarm"]["paged"]
    assert "w-zhang-wei" not in paged(api)
    assert "w-zhang-wei" not in [p["worker"] for p in from_api]


def test_a_shift_outside_now_takes_the_worker_off_duty(api: Api) -> None:
    me = api.login("duty")
    local = utcnow().astimezone(ZoneInfo("Asia/Shanghai"))
    later = local + timedelta(hours=3)
    shift = {
        "worker": "w-zhang-wei",
        "weekday": later.weekday(),
        "start": later.strftime("%H:00"),
        "end": (later + timedelta(hours=1)).strftime("%H:00"),
    }
    created = api.client.post("/api/v1/rosters/shifts", headers=me, json=shift)
    assert created.status_code == 201
    api.raise_sos()
    assert "w-zhang-wei" not in paged(api)
    # Backup (w-wang-fang covers grid-1) gets it instead, through the escalation tiers.
    assert paged(api)
    doc = api.client.get("/api/v1/rosters", headers=me).json()
    assert doc["shifts"][0]["worker"] == "w-zhang-wei"
    sid = created.json()["id"]
    assert api.client.delete(f"/api/v1/rosters/shifts/{sid}", headers=me).status_code == 200
    assert api.client.delete(f"/api/v1/rosters/shifts/{sid}", headers=me).status_code == 404


def test_care_rounds_due_visit_and_coverage(api: Api) -> None:
    duty = api.login("duty")
    for resident in ("r-wang-xiuying", "r-zhao-guoqiang", "r-chen-shufen"):
        put = api.client.put(f"/api/v1/care/plans/{resident}", headers=duty,
                             json={"interval_days": 7})  # fmt: skip
        assert put.status_code == 200
    zhang = api.login("zhang")
    due = api.client.get("/api/v1/care/due", headers=zhang).json()
    assert sorted(d["resident"] for d in due) == ["r-wang-xiuying", "r-zhao-guoqiang"]
    assert all(d["overdue"] for d in due)
    visit = api.client.post("/api/v1/care/visits", headers=zhang,
                            json={"resident": "r-wang-xiuying", "outcome": "ok"})  # fmt: skip
    assert visit.status_code == 201 and visit.json()["overdue"] is False
    other = api.client.post("/api/v1/care/visits", headers=zhang,
                            json={"resident": "r-chen-shufen", "outcome": "ok"})  # fmt: skip
    assert other.status_code == 403  # grid-2's resident
    coverage = api.client.get("/api/v1/care/coverage", headers=duty).json()
    assert [(c["grid"], c["due"], c["visited"]) for c in coverage] == [
        ("grid-1", 2, 1),
        ("grid-2", 1, 0),
    ]
    bad = api.client.put("/api/v1/care/plans/r-nobody", headers=duty, json={"interval_days": 7})
    assert bad.status_code == 404
