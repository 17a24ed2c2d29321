"""The alarm API through FastAPI's TestClient, on the real engine and a real SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.alarms.actions import SendCommand
from protocol.messages import IndicateCmd
from tests.api.kit import AUTH, Api, make_api
from tests.hub.receiver import TOKEN, metric


def test_health_and_metrics_need_no_token(api: Api) -> None:
    assert api.client.get("/healthz").json()["ok"] is True
    resp = api.client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    assert "\nwatchpost_ingest_duplicates_total 0.0\n" in resp.text
    assert "# TYPE watchpost_event_to_store_seconds histogram" in resp.text


def test_metrics_and_openapi_are_loopback_only_by_default(tmp_path: Path, site_id: str) -> None:
    # TestClient's peer is "testclient", not a loopback address: hidden as if absent.
    for api in make_api(tmp_path, site_id):
        assert api.client.get("/metrics").status_code == 404
        assert api.client.get("/openapi.json").status_code == 404
        assert api.client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["anonymous", "wrong-token", "not-bearer"],
)
def test_alarm_endpoints_refuse_without_the_token(api: Api, headers: dict[str, str]) -> None:
    alarm = api.raise_sos()
    for method, path in [
        ("GET", "/api/v1/alarms"),
        ("GET", f"/api/v1/alarms/{alarm}"),
        ("POST", f"/api/v1/alarms/{alarm}/ack"),
    ]:
        resp = api.client.request(method, path, headers=headers, json={})
        assert resp.status_code == 401, (method, path)
        assert resp.headers["www-authenticate"] == "Bearer"
    state = api.client.get(f"/api/v1/alarms/{alarm}", headers=AUTH).json()["alarm"]["state"]
    assert state in ("raised", "notified")


def test_hub_without_a_machine_token_still_serves_its_users(tmp_path: Path, site_id: str) -> None:
    for api in make_api(tmp_path, site_id, None):
        resp = api.client.get("/api/v1/alarms", headers=AUTH)
        assert resp.status_code == 401
        assert api.client.get("/api/v1/alarms", headers=api.login("duty")).status_code == 200


def test_ack_arrived_resolve_through_the_api(api: Api) -> None:
    alarm = api.raise_sos()
    me = api.login("zhang")
    api.dispatched.clear()
    resp = api.client.post(f"/api/v1/alarms/{alarm}/ack", headers=me, json={"note": "去了"})
    assert resp.status_code == 200, resp.text
    assert (resp.json()["state"], resp.json()["acknowledged_by"]) == (
        "acknowledged",
        "w-zhang-wei",
    )
    indicate = [
        a.command
        for a in api.dispatched
        if isinstance(a, SendCommand) and isinstance(a.command, IndicateCmd)
    ]
    assert [c.state for c in indicate] == ["acknowledged"]
    assert indicate[0].alarm == alarm

    refused = api.client.post(f"/api/v1/alarms/{alarm}/resolve", headers=me, json={})
    assert refused.status_code == 409
    assert refused.json()["code"] == "outcome_required"
    assert "outcome" in refused.json()["detail"]

    arrived = api.client.post(f"/api/v1/alarms/{alarm}/arrived", headers=me, json={})
    assert arrived.json()["state"] == "on_scene"
    done = api.client.post(
        f"/api/v1/alarms/{alarm}/resolve", headers=me, json={"outcome": "handled"}
    )
    assert (done.json()["state"], done.json()["outcome"]) == ("resolved", "handled")
    detail = api.client.get(f"/api/v1/alarms/{alarm}", headers=me).json()
    assert [(h["to_state"], h["by"]) for h in detail["history"]][-3:] == [
        ("acknowledged", "w-zhang-wei"),
        ("on_scene", "w-zhang-wei"),
        ("resolved", "w-zhang-wei"),
    ]
    assert detail["alarm"]["context"]["name"] == "王秀英"
    text = api.client.get("/metrics").text
    assert metric(text, "watchpost_alarms_reached", cls="call", state="resolved") == 1


def test_errors_are_mapped_and_name_the_field(api: Api) -> None:
    missing = api.client.post("/api/v1/alarms/no-such/ack", headers=AUTH, json={})
    assert missing.status_code == 404
    assert api.client.get("/api/v1/alarms/no-such", headers=AUTH).status_code == 404
    alarm = api.raise_sos()
    extra = api.client.post(f"/api/v1/alarms/{alarm}/ack", headers=AUTH, json={"x": 1})
    assert extra.status_code == 422
    assert extra.json()["fields"] == ["body.x"]
    bad_verb = api.client.post(f"/api/v1/alarms/{alarm}/explode", headers=AUTH, json={})
    assert bad_verb.status_code == 422
    assert bad_verb.json()["fields"] == ["path.verb"]
    outcome = api.client.post(
        f"/api/v1/alarms/{alarm}/resolve", headers=AUTH, json={"outcome": "nonsense"}
    )
    assert outcome.status_code == 422
    assert "body.outcome" in outcome.json()["detail"]
    zh = api.client.get("/api/v1/alarms?limit=0", headers={**AUTH, "Accept-Language": "zh-CN"})
    assert zh.status_code == 422
    # The machine token's principal reads English; a person reads their own language.
    assert zh.json()["detail"].startswith("Invalid input: query.limit")


def test_alarm_list_filters_and_paging(api: Api) -> None:
    first = api.raise_sos()
    second = api.raise_sos("home-b2-201")
    assert len(api.client.get("/api/v1/alarms?cls=call", headers=AUTH).json()) == 2
    assert api.client.get("/api/v1/alarms?cls=fire", headers=AUTH).json() == []
    assert len(api.client.get("/api/v1/alarms?active=true", headers=AUTH).json()) == 2
    grid = api.client.get("/api/v1/alarms?grid=grid-2", headers=AUTH).json()
    assert [a["id"] for a in grid] == [second]
    assert api.client.get("/api/v1/alarms?site=other-site", headers=AUTH).json() == []
    page = api.client.get("/api/v1/alarms?limit=1&offset=1", headers=AUTH).json()
    assert [a["id"] for a in page] == [first]
    assert api.client.get("/api/v1/alarms?limit=0", headers=AUTH).status_code == 422
    assert api.client.get("/api/v1/alarms?state=weird", headers=AUTH).status_code == 422


def test_events_list_shows_stored_events_with_receipt_time(api: Api) -> None:
    assert api.client.get("/api/v1/events").status_code == 401
    alarm = api.raise_sos()
    events = api.client.get(f"/api/v1/events?site={api.site}", headers=AUTH).json()
    assert [(e["device"], e["kind"], e["alarm_id"]) for e in events] == [
        ("home-b1-101", "call", alarm)
    ]
    assert events[0]["received_at"] >= events[0]["ts"]
    assert api.client.get("/api/v1/events?device=home-b2-201", headers=AUTH).json() == []
    later = "2999-01-01T00:00:00Z"
    assert api.client.get(f"/api/v1/events?since={later}", headers=AUTH).json() == []
    assert api.client.get("/api/v1/events?since=yesterday", headers=AUTH).status_code == 422
    assert api.client.get("/api/v1/events", headers=api.login("zhang")).status_code == 403


def test_security_headers_on_every_answer(api: Api) -> None:
    for resp in (api.client.get("/healthz"), api.client.get("/api/v1/alarms")):
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["x-frame-options"] == "DENY"
        assert "default-src 'self'" in resp.headers["content-security-policy"]
    assert api.client.get("/api/v1/alarms", headers=AUTH).headers["cache-control"] == "no-store"


def test_statistics_against_the_targets(api: Api) -> None:
    alarm = api.raise_sos()
    api.raise_sos("home-b2-201")
    me = api.login("zhang")
    api.client.post(f"/api/v1/alarms/{alarm}/ack", headers=me, json={})
    rows = api.client.get("/api/v1/stats", headers=api.login("duty")).json()
    got = {(r["cls"], r["grid"]): r for r in rows}
    assert got[("call", "grid-1")]["acknowledged"] == 1
    assert got[("call", "grid-1")]["ack_within_target"] == 1.0
    assert got[("call", "grid-2")]["acknowledged"] == 0
    assert got[("call", "grid-2")]["ack_within_target"] is None
    assert [(r["cls"], r["grid"]) for r in api.client.get("/api/v1/stats", headers=me).json()] == [
        ("call", "grid-1")
    ]


def test_device_health_by_role(api: Api) -> None:
    everything = api.client.get("/api/v1/devices", headers=api.login("duty")).json()
    assert len(everything) == 7 and not any(d["online"] for d in everything)
    mine = api.client.get("/api/v1/devices", headers=api.login("zhang")).json()
    assert {d["grid"] for d in mine} == {"grid-1"}
