"""Pages and device commands as outbox rows: written with the alarm change, read back after a
crash. `Transition`s are not kept (they are InfluxDB points and board updates, not pages).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from hub.alarms.actions import Action, Notify, SendCommand
from hub.store import fast
from hub.store.queues import OutboxRow
from protocol.codec import decode_command
from protocol.messages import WorkerAlert


def persist(session: Session, now: datetime, actions: Sequence[Action]) -> list[Action]:
    """Write every page and command to the outbox in `session`; return them with their ids.

    One Core INSERT … RETURNING for all of them, not the ORM's unit of work: nothing reads an
    outbox row back as an object in this transaction. (What the rules left pending is
    flushed by the caller, as before.)
    """
    rows: list[dict[str, Any] | None] = []
    for action in actions:
        if isinstance(action, Notify):
            payload: dict[str, Any] = {
                "site": action.site,
                "worker": action.worker,
                "tier": action.tier,
                "alert": action.alert.model_dump(mode="json", by_alias=True),
                "channels": None if action.channels is None else list(action.channels),
            }
            rows.append(_row(now, "notify", action.alarm_id, payload))
        elif isinstance(action, SendCommand):
            payload = {
                "site": action.site,
                "device": action.device,
                "command": action.command.model_dump(mode="json"),
            }
            alarm = getattr(action.command, "alarm", None)
            rows.append(_row(now, "command", alarm, payload))
        else:
            rows.append(None)
    written = [r for r in rows if r is not None]
    if not written:
        return list(actions)
    ids = iter(fast.returned(session.connection(), _ADD, written))
    return [
        a if r is None else dataclasses.replace(a, outbox_id=next(ids))
        for a, r in zip(actions, rows, strict=True)
    ]


_ADD = insert(OutboxRow).returning(OutboxRow.id, sort_by_parameter_order=True)
"""The rows' ids in the order of the rows (SQLAlchemy's "insertmanyvalues")."""


def _row(now: datetime, kind: str, alarm_id: str | None, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "created_at": now,
        "alarm_id": alarm_id,
        "kind": kind,
        "payload": payload,
        "attempts": 0,
        "delivered_at": None,
        "claimed_by": None,
        "claimed_until": None,
    }


def restore(row_id: int, kind: str, payload: dict[str, Any]) -> Action:
    """Rebuild the action of one outbox row (raises ValueError if the row is unreadable)."""
    if kind == "notify":
        alert = WorkerAlert.model_validate(payload["alert"])
        channels = payload.get("channels")
        return Notify(
            alarm_id=alert.alarm,
            site=str(payload["site"]),
            worker=str(payload["worker"]),
            tier=int(payload["tier"]),
            alert=alert,
            channels=None if channels is None else tuple(channels),
            outbox_id=row_id,
        )
    if kind == "command":
        return SendCommand(
            site=str(payload["site"]),
            device=str(payload["device"]),
            command=decode_command(payload["command"]),
            outbox_id=row_id,
        )
    raise ValueError(f"outbox row {row_id}: unknown kind {kind!r}")
