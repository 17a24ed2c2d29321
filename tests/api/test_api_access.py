"""Every role against every write endpoint; login limits, token expiry and revocation; audit."""

from __future__ import annotations

from typing import Any

import pytest

from hub.alarms.actions import Notify, SendCommand
from protocol.messages import SirenCmd
from tests.api.kit import AUTH, PASSWORD, PEOPLE, Api, Clock

ROLES = list(PEOPLE)


def _status(api: Api, who: str, method: str, path: str, body: dict[str, Any]) -> int:
    resp = api.client.request(method, path, headers=api.login(who), json=body)
    assert resp.status_code < 500, resp.text
    return resp.status_code


# Who may act on a grid-1 SOS (home-b1-101): admin, the site's overseers, grid-1's worker
# and grid-1's backup (fang, paged only once it escalates: not yet, so grid only).
ACK_GRID1 = {"admin": 200, "duty": 200, "sup": 200, "zhang": 200, "li": 404, "fang": 404,
             "fire": 404, "maint": 404, "viewer": 403}  # fmt: skip


@pytest.mark.parametrize("who", ROLES)
def test_acting_on_a_grid_1_sos_by_role(api: Api, who: str) -> None:
    alarm = api.raise_sos()
    assert _status(api, who, "POST", f"/api/v1/alarms/{alarm}/ack", {}) == ACK_GRID1[who]
    seen = api.client.get(f"/api/v1/alarms/{alarm}", headers=api.login(who)).status_code
    assert seen == (404 if ACK_GRID1[who] == 404 else 200)
    listed = api.client.get("/api/v1/alarms", headers=api.login(who)).json()
    assert (alarm in [a["id"] for a in listed]) == (ACK_GRID1[who] != 404)


@pytest.mark.parametrize("who", ROLES)
def test_fire_station_sees_fires_not_calls(api: Api, who: str) -> None:
    fire = api.event("stair-b2", "smoke")  # an alarm contact: a fire at once
    assert fire is not None
    visible = api.client.get(f"/api/v1/alarms/{fire}", headers=api.login(who)).status_code
    # grid-2: li; fang is grid-2's backup only when paged; zhang backs up grid-2 likewise.
    expected = 200 if who in ("admin", "duty", "sup", "li", "fire", "viewer") else 404
    assert visible == expected


OVERSEERS = {"admin", "duty", "sup"}
WRITES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("broadcast", "POST", "/api/v1/broadcasts", {"building": "b1"}),
    ("shift", "POST", "/api/v1/rosters/shifts",
     {"worker": "w-li-na", "weekday": 0, "start": "08:00", "end": "20:00"}),
    ("exception", "POST", "/api/v1/rosters/exceptions",
     {"worker": "w-li-na", "day": "2030-01-01", "kind": "absent"}),
    ("swap", "POST", "/api/v1/rosters/swap",
     {"absent": "w-li-na", "replacement": "w-wang-fang", "day": "2030-01-01"}),
    ("plan", "PUT", "/api/v1/care/plans/r-chen-shufen", {"interval_days": 7}),
]  # fmt: skip


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("write", WRITES, ids=[w[0] for w in WRITES])
def test_overseer_writes_by_role(
    api: Api, who: str, write: tuple[str, str, str, dict[str, Any]]
) -> None:
    _, method, path, body = write
    if who == "admin":  # an admin names the site; everyone else acts in their own
        body = {**body, "site": api.site} if path.endswith("broadcasts") else body
        path = path if path.endswith("broadcasts") else f"{path}?site={api.site}"
    status = _status(api, who, method, path, body)
    assert (status in (200, 201)) == (who in OVERSEERS), status
    if who not in OVERSEERS:
        assert status == 403


@pytest.mark.parametrize("who", ROLES)
def test_care_visits_by_role(api: Api, who: str) -> None:
    assert _status(api, "duty", "PUT", "/api/v1/care/plans/r-wang-xiuying", {"interval_days": 7})
    status = _status(api, who, "POST", f"/api/v1/care/visits?site={api.site}",
                     {"resident": "r-wang-xiuying", "outcome": "ok"})  # fmt: skip
    allowed = {"admin", "duty", "sup", "zhang"}
    assert status == (201 if who in allowed else 403)


def test_broadcast_needs_the_confirmation_code_and_sounds_only_that_building(api: Api) -> None:
    me = api.login("duty")
    plan = api.client.post("/api/v1/broadcasts", headers=me, json={"building": "b1"}).json()
    assert plan["devices"] == ["stair-b1"]
    api.dispatched.clear()
    wrong = "000000" if plan["code"] != "000000" else "111111"
    bad = api.client.post(f"/api/v1/broadcasts/{plan['id']}/confirm", headers=me,
                          json={"code": wrong})  # fmt: skip
    assert bad.status_code == 401 and api.dispatched == []
    ok = api.client.post(f"/api/v1/broadcasts/{plan['id']}/confirm", headers=me,
                         json={"code": plan["code"]})  # fmt: skip
    assert ok.status_code == 200 and ok.json()["sounding"] is True
    api.client.post(f"/api/v1/broadcasts/{plan['id']}/stop", headers=me)
    sent = [(a.device, a.command.on) for a in api.dispatched
            if isinstance(a, SendCommand) and isinstance(a.command, SirenCmd)]  # fmt: skip
    assert sent == [("stair-b1", True), ("stair-b1", False)]
    whole = api.client.post("/api/v1/broadcasts", headers=me, json={"building": None}).json()
    assert whole["devices"] == ["stair-b1", "stair-b2", "stair-b3"]
    actions = [e["action"] for e in api.client.get("/api/v1/audit", headers=me).json()]
    assert actions[:4] == ["broadcast.plan", "broadcast.stop", "broadcast.sound", "broadcast.sound"]


def test_login_is_rate_limited(api: Api) -> None:
    for _ in range(5):
        resp = api.client.post("/api/v1/auth/login", json={"username": "zhang", "password": "x"})
        assert resp.status_code == 401
    blocked = api.client.post(
        "/api/v1/auth/login", json={"username": "zhang", "password": PASSWORD}
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    failed = api.client.get("/api/v1/audit?action=auth.login", headers=AUTH).json()
    assert [(e["username"], e["ok"]) for e in failed][:5] == [("zhang", False)] * 5


def test_wrong_bearer_tokens_are_rate_limited(api: Api) -> None:
    codes = [
        api.client.get("/api/v1/alarms", headers={"Authorization": f"Bearer nope-{i}"}).status_code
        for i in range(25)
    ]
    assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}


def test_tokens_expire_when_idle_and_at_most_a_shift_after_login(api: Api, clock: Clock) -> None:
    me = api.login("zhang")
    clock.advance(500)  # ttl 600 s: still valid, and the use extends it
    assert api.client.get("/api/v1/me", headers=me).status_code == 200
    clock.advance(500)
    assert api.client.get("/api/v1/me", headers=me).status_code == 200
    clock.advance(601)
    assert api.client.get("/api/v1/me", headers=me).status_code == 401
    fresh = api.client.post("/api/v1/auth/login", json={"username": "li", "password": PASSWORD})
    token = {"Authorization": f"Bearer {fresh.json()['token']}"}
    for _ in range(8):  # used every 500 s, but max_age is 3600 s
        clock.advance(500)
        last = api.client.get("/api/v1/me", headers=token).status_code
    assert last == 401


def test_logout_revokes_at_once(api: Api) -> None:
    me = api.login("duty")
    assert api.client.post("/api/v1/auth/logout", headers=me).status_code == 200
    assert api.client.get("/api/v1/me", headers=me).status_code == 401


def test_a_disabled_user_is_refused(api: Api) -> None:
    me = api.login("li")
    api.ctx.users.set_active("li", False)
    assert api.client.get("/api/v1/me", headers=me).status_code == 401
    again = api.client.post("/api/v1/auth/login", json={"username": "li", "password": PASSWORD})
    assert again.status_code == 401


def test_the_body_cannot_name_the_actor(api: Api) -> None:
    alarm = api.raise_sos()
    me = api.login("zhang")
    forged = api.client.post(
        f"/api/v1/alarms/{alarm}/ack", headers=me, json={"actor": "w-li-na", "note": "x"}
    )
    assert forged.status_code == 422 and forged.json()["fields"] == ["body.actor"]
    api.client.post(f"/api/v1/alarms/{alarm}/ack", headers=me, json={"note": "I am w-li-na"})
    history = api.client.get(f"/api/v1/alarms/{alarm}", headers=me).json()["history"]
    assert history[-1]["by"] == "w-zhang-wei"
    entries = api.client.get(f"/api/v1/audit?target={alarm}", headers=api.login("duty")).json()
    assert [(e["username"], e["role"], e["action"], e["ok"]) for e in entries] == [
        ("zhang", "grid_worker", "alarm.ack", True)
    ]


def test_cookie_writes_need_the_page_header(api: Api) -> None:
    alarm = api.raise_sos()
    resp = api.client.post("/api/v1/auth/login", json={"username": "zhang", "password": PASSWORD})
    assert resp.status_code == 200 and "wp_session" in api.client.cookies
    assert api.client.post(f"/api/v1/alarms/{alarm}/ack", json={}).status_code == 403
    ok = api.client.post(f"/api/v1/alarms/{alarm}/ack", json={}, headers={"X-Watchpost": "1"})
    assert ok.status_code == 200


def test_errors_read_in_the_users_language(api: Api) -> None:
    api.client.put("/api/v1/me/lang", headers=api.login("zhang"), json={"lang": "zh-CN"})
    resp = api.client.get("/api/v1/audit", headers=api.login("zhang"))
    assert resp.status_code == 403 and "无权" in resp.json()["detail"]
    assert "may not" in api.client.get("/api/v1/audit", headers=api.login("li")).json()["detail"]


def test_reassign_pages_the_new_worker_who_may_then_answer(api: Api) -> None:
    alarm = api.raise_sos()
    li = api.login("li")
    assert api.client.get(f"/api/v1/alarms/{alarm}", headers=li).status_code == 404
    body = {"worker": "w-li-na", "note": "张伟在医院"}
    refused = api.client.post(f"/api/v1/alarms/{alarm}/reassign", headers=api.login("zhang"),
                              json=body)  # fmt: skip
    assert refused.status_code == 403
    api.dispatched.clear()
    done = api.client.post(f"/api/v1/alarms/{alarm}/reassign", headers=api.login("duty"),
                           json=body)  # fmt: skip
    assert done.status_code == 200
    assert "w-li-na" in [p["worker"] for p in done.json()["paged"]]
    assert [a.worker for a in api.dispatched if isinstance(a, Notify)] == ["w-li-na"]
    acked = api.client.post(f"/api/v1/alarms/{alarm}/ack", headers=li, json={})
    assert acked.json()["acknowledged_by"] == "w-li-na"
    nobody = {"worker": "w-nobody"}
    missing = api.client.post(f"/api/v1/alarms/{alarm}/reassign", headers=api.login("duty"),
                              json=nobody)  # fmt: skip
    assert missing.status_code == 404


REASSIGN = {"admin": 200, "duty": 200, "sup": 200, "zhang": 403, "li": 404, "fang": 404,
            "fire": 404, "maint": 404, "viewer": 403}  # fmt: skip


@pytest.mark.parametrize("who", ROLES)
def test_reassign_by_role(api: Api, who: str) -> None:
    alarm = api.raise_sos()
    body = {"worker": "w-li-na"}
    assert _status(api, who, "POST", f"/api/v1/alarms/{alarm}/reassign", body) == REASSIGN[who]


def test_login_limit_per_client_behind_a_trusted_proxy(api: Api) -> None:
    api.ctx.trusted_proxies = frozenset({"testclient"})

    def login(client_ip: str, username: str) -> int:
        headers = {"X-Forwarded-For": f"203.0.113.9, {client_ip}"}
        body = {"username": username, "password": "wrong"}
        return api.client.post("/api/v1/auth/login", json=body, headers=headers).status_code

    assert [login("198.51.100.1", f"nobody{i}") for i in range(6)] == [401] * 5 + [429]
    assert login("198.51.100.2", "someone") == 401  # another client is not blocked
    entries = api.client.get("/api/v1/audit?action=auth.login", headers=AUTH).json()
    assert entries[0]["remote"] == "198.51.100.2"


def test_a_broadcast_can_be_stopped_after_a_hub_restart(api: Api) -> None:
    me = api.login("duty")
    plan = api.client.post("/api/v1/broadcasts", headers=me, json={"building": "b2"}).json()
    api.client.post(f"/api/v1/broadcasts/{plan['id']}/confirm", headers=me,
                    json={"code": plan["code"]})  # fmt: skip
    api.ctx.pending.clear()  # what a restart forgets
    api.dispatched.clear()
    stopped = api.client.post(f"/api/v1/broadcasts/{plan['id']}/stop", headers=me)
    assert stopped.status_code == 200
    sent = [(a.device, a.command.on) for a in api.dispatched
            if isinstance(a, SendCommand) and isinstance(a.command, SirenCmd)]  # fmt: skip
    assert sent == [("stair-b2", False)]
    assert api.client.post("/api/v1/broadcasts/bc-unknown/stop", headers=me).status_code == 404


def test_an_admins_action_is_in_the_sites_audit(api: Api) -> None:
    alarm = api.raise_sos()
    q = f"?site={api.site}"
    assert api.client.post(f"/api/v1/alarms/{alarm}/ack{q}", headers=api.login("admin"),
                           json={}).status_code == 200  # fmt: skip
    seen = api.client.get(f"/api/v1/audit?target={alarm}", headers=api.login("duty")).json()
    assert [(e["username"], e["site"]) for e in seen] == [("admin", api.site)]
