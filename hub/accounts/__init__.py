"""People who use the hub: accounts and roles, tokens and page sessions, who may see what, audit.

`Accounts` owns users and their tokens (argon2 password hashes; only a token's SHA-256 is
stored, so a stolen database holds no usable token). `Principal` is who a request acts as;
`visibility` says which alarms a principal may see and act on. Every write is `audit`ed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.accounts.principal import Principal
from hub.accounts.roles import ROLES, Role

if TYPE_CHECKING:
    from hub.accounts.service import AccountError, Accounts

__all__ = ["ROLES", "AccountError", "Accounts", "Principal", "Role"]


def __getattr__(name: str) -> Any:
    """`Accounts` and `AccountError`, loaded when first asked for: the service loads the store
    and SQLAlchemy, a second of every `watchpost` command's start that `watchpost users`
    does not always need and `watchpost hub` needs later (it starts its import process
    first, `hub.import_child`)."""
    if name in ("AccountError", "Accounts"):
        from hub.accounts import service

        return getattr(service, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
