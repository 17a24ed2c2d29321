"""What the HTTP API needs from the hub process, handed in when the app is built."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from hub.accounts import Accounts
from hub.accounts.ratelimit import FailureLimiter
from hub.alarms.actions import Action
from hub.alarms.service import AlarmService
from hub.metrics import HubMetrics
from hub.store import Store

Exposure = Literal["loopback", "open", "off"]


@dataclass(slots=True)
class ApiContext:
    """The engine, store, metrics and health probe the routes use, and the access settings.

    `token` is the hub's machine token (WATCHPOST_API_TOKEN): it acts as the built-in admin
    service account `api-token` (the demo, simulators and bench use it). People log in.
    """

    engine: AlarmService
    store: Store
    metrics: HubMetrics
    submit: Callable[[Sequence[Action]], Awaitable[None]]
    health: Callable[[], Awaitable[dict[str, Any]]]
    token: str | None
    accounts: Accounts | None = None
    openapi: Exposure = "loopback"
    metrics_access: Exposure = "loopback"
    secure_cookies: bool = False
    trusted_proxies: frozenset[str] = frozenset()
    login_failures: FailureLimiter = field(default_factory=lambda: FailureLimiter(5, 60.0))
    auth_failures: FailureLimiter = field(default_factory=lambda: FailureLimiter(20, 60.0))
    pending: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Default the accounts to the store's."""
        if self.accounts is None:
            self.accounts = Accounts(self.store)

    @property
    def users(self) -> Accounts:
        """Return the accounts (always set after construction)."""
        assert self.accounts is not None
        return self.accounts
