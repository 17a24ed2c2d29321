"""Test kit of the API tests: the app on a real engine and SQLite store, one user per role."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

# Starlette 1.x's TestClient prefers the `httpx2` package and warns, at import, when it falls
# back to httpx (which the hub already depends on); the warning is about packaging, not us.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from argon2 import PasswordHasher

from hub.accounts import Accounts
from hub.alarms.actions import Action
from hub.alarms.engine import Engine
from hub.api import ApiContext, create_app
from hub.metrics import HubMetrics
from hub.policy import Policy
from hub.store import Store
from protocol.codec import new_event_id
from protocol.messages import Event, EventKind, utcnow
from protocol.site_config import load_site
from tests.hub.receiver import TOKEN, write_site

# argon2 at its lowest cost: the tests check the accounts' logic, not the hash's strength.
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PASSWORD = "correct-horse-9"
# username: (role, worker); the sunflower registry's workers.
PEOPLE: dict[str, tuple[str, str | None]] = {
    "admin": ("admin", None),
    "duty": ("duty_officer", "w-duty-1"),
    "sup": ("supervisor", "w-sup-1"),
    "zhang": ("grid_worker", "w-zhang-wei"),  # grid-1, backup for grid-2
    "li": ("grid_worker", "w-li-na"),  # grid-2
    "fang": ("grid_worker", "w-wang-fang"),  # grid-3, backup for grid-1
    "fire": ("fire_station", "w-fire-1"),
    "maint": ("maintenance", "w-maint-1"),
    "viewer": ("viewer", None),
}


class Clock:
    """A settable UTC clock for token expiry."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Api:
    """A TestClient on a hub context, plus what the routes handed to dispatch."""

    def __init__(self, client: TestClient, engine: Engine, ctx: ApiContext, site: str) -> None:
        self.client = client
        self.engine = engine
        self.ctx = ctx
        self.site = site
        self.dispatched: list[Action] = []
        self._tokens: dict[str, str] = {}

    def event(self, device: str = "home-b1-101", kind: EventKind = "call") -> str | None:
        """Feed an event to the engine (in the app's loop); return the alarm id it touched."""
        event = Event(
            id=new_event_id(), device=device, seq=1, ts=utcnow(), kind=kind, source="test"
        )
        assert self.client.portal is not None
        outcome = self.client.portal.call(self.engine.on_event, self.site, event)
        self.dispatched.extend(outcome.actions)
        for action in outcome.actions:
            alarm = getattr(action, "alarm_id", None)
            if alarm is not None:
                return str(alarm)
        return None

    def raise_sos(self, device: str = "home-b1-101") -> str:
        """Raise an SOS alarm on `device`; return its id."""
        alarm = self.event(device, "call")
        assert alarm is not None
        return alarm

    def login(self, username: str) -> dict[str, str]:
        """Return bearer headers of `username` (logged in once per test)."""
        if username not in self._tokens:
            resp = self.client.post(
                "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
            )
            assert resp.status_code == 200, resp.text
            self._tokens[username] = resp.json()["token"]
            self.client.cookies.clear()
        return {"Authorization": f"Bearer {self._tokens[username]}"}


def make_api(
    tmp_path: Path,
    site_id: str,
    token: str | None = TOKEN,
    clock: Callable[[], datetime] = utcnow,
    **settings: Any,
) -> Iterator[Api]:
    """Build the app on a migrated store holding the test site and PEOPLE; yield it."""
    store = Store(f"sqlite:///{tmp_path / 'api.db'}")
    store.migrate()
    store.import_registry(load_site(write_site(tmp_path, site_id)))
    engine = Engine(store, Policy(), utcnow)
    accounts = Accounts(store, ttl_s=600, max_age_s=3600, clock=clock, hasher=CHEAP)
    for username, (role, worker) in PEOPLE.items():
        site = None if role == "admin" else site_id
        accounts.add_user(username, PASSWORD, role, site=site, worker=worker, lang="en")

    async def health() -> dict[str, Any]:
        return {"ok": True, "broker": {"alarm": True, "telemetry": True}}

    api: Api | None = None

    async def submit(actions: Sequence[Action]) -> None:
        assert api is not None
        api.dispatched.extend(actions)

    ctx = ApiContext(
        engine, store, HubMetrics(), submit, health, token, accounts=accounts, **settings
    )
    with TestClient(create_app(ctx)) as client:
        api = Api(client, engine, ctx, site_id)
        yield api
    store.close()
