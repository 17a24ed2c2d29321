"""Apply a worker's ack / decline / arrived / resolve to an alarm, enforcing the lifecycle.

raised → notified → acknowledged → on_scene → resolved(outcome), or cancelled. Anything else
is refused with a reason code; nothing is changed then.
"""

from __future__ import annotations

from typing import get_args

from sqlalchemy import select

from hub.alarms.ledger import CLOSED, Ledger
from hub.alarms.updates import tell_others
from hub.store.schema import AlarmRow, DeliveryRow, TransitionRow
from protocol.messages import Outcome as ResolveOutcome
from protocol.messages import ReplyAction

ALLOWED_FROM: dict[str, frozenset[str]] = {
    "ack": frozenset({"raised", "notified"}),
    "decline": frozenset({"raised", "notified"}),
    "arrived": frozenset({"raised", "notified", "acknowledged"}),
    "resolve": frozenset({"raised", "notified", "acknowledged", "on_scene"}),
}
OUTCOMES: frozenset[str] = frozenset(get_args(ResolveOutcome))
TARGET: dict[str, str] = {"ack": "acknowledged", "arrived": "on_scene", "resolve": "resolved"}


class Refused(Exception):  # noqa: N818 - a reason, not an error
    """The input was refused; `reason` is the code returned in `Outcome.rejected`."""

    def __init__(self, reason: str) -> None:
        """Carry the reason code."""
        super().__init__(reason)
        self.reason = reason


def replayed(ledger: Ledger, alarm: AlarmRow, actor: str, action: ReplyAction) -> bool:
    """Return True if `actor` already moved `alarm` where `action` leads (a resent reply)."""
    target = TARGET.get(action)
    if target is None or alarm.state != target:
        return False
    last = ledger.session.scalars(
        select(TransitionRow)
        .where(TransitionRow.alarm_id == alarm.id, TransitionRow.to_state == target)
        .order_by(TransitionRow.id.desc())
        .limit(1)
    ).first()
    return last is not None and last.by == actor and last.from_state != target


def check(alarm: AlarmRow, action: ReplyAction, outcome: str | None) -> None:
    """Raise `Refused` if `action` is not allowed on `alarm` now."""
    if action not in ALLOWED_FROM:
        raise Refused("unknown_action")
    if alarm.state in CLOSED:
        raise Refused("alarm_closed")
    if alarm.state not in ALLOWED_FROM[action]:
        raise Refused("invalid_transition")
    if action == "resolve" and outcome not in OUTCOMES:
        raise Refused("outcome_required")


def apply(
    ledger: Ledger,
    alarm: AlarmRow,
    actor: str,
    action: ReplyAction,
    outcome: str | None = None,
    note: str = "",
    channel: str = "reply",
) -> None:
    """Carry out an allowed action (call `check` first); tell the others paged what changed."""
    if action == "ack":
        ledger.move(alarm, "acknowledged", actor, note)
        ledger.session.add(
            DeliveryRow(
                alarm_id=alarm.id,
                worker=actor,
                channel=channel,
                tier=alarm.tier,
                status="acked",
                ts=ledger.now,
                detail=note,
            )
        )
        ledger.indicate(alarm, "acknowledged")
        tell_others(ledger, alarm, actor)
    elif action == "decline":
        ledger.escalate(alarm, actor, f"declined{': ' + note if note else ''}")
    elif action == "arrived":
        ledger.move(alarm, "on_scene", actor, note)
        ledger.indicate(alarm, "on_scene")
        tell_others(ledger, alarm, actor)
    else:
        ledger.move(alarm, "resolved", actor, note, outcome)
        ledger.indicate(alarm, "resolved")
        if alarm.cls == "fire":
            ledger.sirens(alarm, on=False)
        tell_others(ledger, alarm, actor, outcome)
