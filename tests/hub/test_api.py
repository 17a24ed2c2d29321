"""The HTTP API through FastAPI's TestClient, on the real engine and a real SQLite store."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

# Starlette 1.x's TestClient prefers the `httpx2` package and warns, at import, when it falls
# back to httpx (which the hub already depends on); the warning is about packaging, not us.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from hub.alarms.actions import Action, SendCommand
from hub.alarms.engine import Engine
from hub.api import ApiContext, create_app
from hub.metrics import HubMetrics
from hub.policy import Policy
from hub.store import Store
from protocol.codec import new_event_id
from protocol.messages import Event, IndicateCmd, utcnow
from protocol.site_config import load_site
from tests.hub.receiver import TOKEN, metric, write_site

AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Api:
    """A TestClient on a hub context, plus what the routes handed to dispatch."""

    def __init__(self, client: TestClient, engine: Engine, site: str) -> None:
        self.client = client
        self.engine = engine
        self.site = site
        self.dispatched: list[Action] = []

    def raise_sos(self, device: str = "home-b1-101") -> str:
        """Feed an SOS press to the engine (in the app's event loop); return the alarm id."""
        event = Event(
            id=new_event_id(), device=device, seq=1, ts=utcnow(), kind="call", source="gpio:call"
        )
        assert self.client.portal is not None
        self.client.portal.call(self.engine.on_event, self.site, event)
        alarms = self.client.get("/api/v1/alarms", headers=AUTH).json()
        return str(alarms[0]["id"])


def make_api(tmp_path: Path, site_id: str, token: str | None) -> Iterator[Api]:
    """Build the app on a migrated store holding the test site; yield it inside a TestClient."""
    store = Store(f"sqlite:///{tmp_path / 'api.db'}")
    store.migrate()
    store.import_registry(load_site(write_site(tmp_path, site_id)))
    engine = Engine(store, Policy(), utcnow)

    async def health() -> dict[str, Any]:
        return {"ok": True, "broker": {"alarm": True, "telemetry": True}}

    api: Api | None = None

    async def submit(actions: Sequence[Action]) -> None:
        assert api is not None
        api.dispatched.extend(actions)

    ctx = ApiContext(engine, store, HubMetrics(), submit, health, token)
    with TestClient(create_app(ctx)) as client:
        api = Api(client, engine, site_id)
        yield api
    store.close()


@pytest.fixture
def api(tmp_path: Path, site_id: str) -> Iterator[Api]:
    """Return the API of a hub whose token is TOKEN."""
    yield from make_api(tmp_path, site_id, TOKEN)


def test_health_and_metrics_need_no_token(api: Api) -> None:
    assert api.client.get("/healthz").json()["ok"] is True
    resp = api.client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    assert "\nwatchpost_ingest_duplicates_total 0.0\n" in resp.text
    assert "# TYPE watchpost_event_to_store_seconds histogram" in resp.text


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
        resp = api.client.request(method, path, headers=headers, json={"actor": "w-zhang-wei"})
        assert resp.status_code == 401, (method, path)
        assert resp.headers["www-authenticate"] == "Bearer"
    assert api.client.get(f"/api/v1/alarms/{alarm}", headers=AUTH).json()["alarm"]["state"] in (
        "raised",
        "notified",
    )


def test_hub_without_a_token_refuses_everyone(tmp_path: Path, site_id: str) -> None:
    for api in make_api(tmp_path, site_id, None):
        resp = api.client.get("/api/v1/alarms", headers=AUTH)
        assert resp.status_code == 401
        assert "not configured" in resp.json()["detail"]


def test_ack_arrived_resolve_through_the_api(api: Api) -> None:
    alarm = api.raise_sos()
    resp = api.client.post(
        f"/api/v1/alarms/{alarm}/ack", headers=AUTH, json={"actor": "w-zhang-wei", "note": "去了"}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["state"] == "acknowledged"
    indicate = [
        a.command
        for a in api.dispatched
        if isinstance(a, SendCommand) and isinstance(a.command, IndicateCmd)
    ]
    assert [c.state for c in indicate] == ["acknowledged"]
    assert indicate[0].alarm == alarm

    refused = api.client.post(
        f"/api/v1/alarms/{alarm}/resolve", headers=AUTH, json={"actor": "w-zhang-wei"}
    )
    assert refused.status_code == 409
    assert "outcome_required" in refused.json()["detail"]

    body = {"actor": "w-zhang-wei"}
    assert (
        api.client.post(f"/api/v1/alarms/{alarm}/arrived", headers=AUTH, json=body).json()["state"]
        == "on_scene"
    )
    done = api.client.post(
        f"/api/v1/alarms/{alarm}/resolve", headers=AUTH, json={**body, "outcome": "handled"}
    )
    assert done.json()["state"] == "resolved"
    assert done.json()["outcome"] == "handled"
    detail = api.client.get(f"/api/v1/alarms/{alarm}", headers=AUTH).json()
    assert [h["to_state"] for h in detail["history"]][-3:] == [
        "acknowledged",
        "on_scene",
        "resolved",
    ]
    text = api.client.get("/metrics").text
    assert metric(text, "watchpost_alarms_reached", cls="call", state="resolved") == 1


def test_errors_are_mapped(api: Api) -> None:
    missing = api.client.post(
        "/api/v1/alarms/no-such/ack", headers=AUTH, json={"actor": "w-zhang-wei"}
    )
    assert missing.status_code == 404
    assert api.client.get("/api/v1/alarms/no-such", headers=AUTH).status_code == 404
    alarm = api.raise_sos()
    extra = api.client.post(
        f"/api/v1/alarms/{alarm}/ack", headers=AUTH, json={"actor": "w-zhang-wei", "x": 1}
    )
    assert extra.status_code == 422
    bad_verb = api.client.post(
        f"/api/v1/alarms/{alarm}/explode", headers=AUTH, json={"actor": "w-zhang-wei"}
    )
    assert bad_verb.status_code == 422


def test_alarm_list_filters(api: Api) -> None:
    api.raise_sos()
    assert len(api.client.get("/api/v1/alarms?cls=call", headers=AUTH).json()) == 1
    assert api.client.get("/api/v1/alarms?cls=fire", headers=AUTH).json() == []
    assert len(api.client.get("/api/v1/alarms?active=true", headers=AUTH).json()) == 1
    assert api.client.get("/api/v1/alarms?site=other-site", headers=AUTH).json() == []
    assert api.client.get("/api/v1/alarms?limit=0", headers=AUTH).status_code == 422


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
