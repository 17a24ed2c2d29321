"""Pages and device commands as outbox rows: written with the alarm change, read back after a
crash. `Transition`s are not kept (they are InfluxDB points and board updates, not pages).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hub.alarms.actions import Action, Notify, SendCommand
from hub.store.queues import add_outbox
from protocol.codec import decode_command
from protocol.messages import WorkerAlert


def persist(session: Session, now: datetime, actions: Sequence[Action]) -> list[Action]:
    """Write every page and command to the outbox in `session`; return them with their ids."""
    out: list[Action] = []
    for action in actions:
        if isinstance(action, Notify):
            payload: dict[str, Any] = {
                "site": action.site,
                "worker": action.worker,
                "tier": action.tier,
                "alert": action.alert.model_dump(mode="json", by_alias=True),
                "channels": None if action.channels is None else list(action.channels),
            }
            row = add_outbox(session, now, "notify", action.alarm_id, payload)
            out.append(dataclasses.replace(action, outbox_id=row))
        elif isinstance(action, SendCommand):
            payload = {
                "site": action.site,
                "device": action.device,
                "command": action.command.model_dump(mode="json"),
            }
            alarm = getattr(action.command, "alarm", None)
            row = add_outbox(session, now, "command", alarm, payload)
            out.append(dataclasses.replace(action, outbox_id=row))
        else:
            out.append(action)
    return out


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
