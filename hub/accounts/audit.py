"""The audit log: every write, who made it, when, what, from where; read back with filters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from hub.accounts.principal import Principal
from hub.store import Store
from hub.store.people import AuditRow
from protocol.messages import utcnow


class AuditRecord(BaseModel):
    """One audited write."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    ts: datetime
    username: str
    role: str
    site: str | None
    action: str
    target: str
    remote: str
    ok: bool
    detail: dict[str, Any]


def record(
    store: Store,
    who: Principal | None,
    action: str,
    target: str = "",
    *,
    remote: str = "",
    ok: bool = True,
    detail: dict[str, Any] | None = None,
    username: str | None = None,
    site: str | None = None,
) -> None:
    """Append one entry (`who` None: an anonymous attempt, e.g. a failed login as `username`);
    `site` names the site acted on when it is not the user's own (an admin's action)."""
    row = AuditRow(
        ts=utcnow(),
        username=(who.username if who else username or "-")[:48],
        role=who.role if who else "-",
        site=site if site is not None else (who.site if who else None),
        action=action,
        target=target[:200],
        remote=remote[:64],
        ok=ok,
        detail=detail or {},
    )
    with store.session(write=True) as s:
        s.add(row)


def entries(
    store: Store,
    *,
    site: str | None = None,
    username: str | None = None,
    action: str | None = None,
    target: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditRecord]:
    """Return entries newest first; `before_id` pages back."""
    query = select(AuditRow)
    if site is not None:
        query = query.where(AuditRow.site == site)
    if username is not None:
        query = query.where(AuditRow.username == username)
    if action is not None:
        query = query.where(AuditRow.action == action)
    if target is not None:
        query = query.where(AuditRow.target == target)
    if before_id is not None:
        query = query.where(AuditRow.id < before_id)
    query = query.order_by(AuditRow.id.desc()).limit(limit)
    with store.session() as s:
        return [AuditRecord.model_validate(r) for r in s.scalars(query)]
