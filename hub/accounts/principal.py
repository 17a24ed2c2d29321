"""Who a request acts as: a logged-in person, a service account, or the hub's legacy token."""

from __future__ import annotations

from dataclasses import dataclass

from hub.accounts.roles import Permission, allowed


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user; `worker` links a person to their registry entry."""

    username: str
    role: str
    site: str | None
    worker: str | None = None
    grids: tuple[str, ...] = ()
    lang: str = "zh-CN"
    display_name: str = ""
    token_digest: str | None = None

    @property
    def actor(self) -> str:
        """Return the name written into an alarm's history: the worker id, else the username."""
        return self.worker or self.username

    def may(self, permission: Permission) -> bool:
        """Return True if this principal's role holds `permission`."""
        return allowed(self.role, permission)
