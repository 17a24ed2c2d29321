"""Apply a worker's ack / decline / arrived / resolve to an alarm, enforcing the lifecycle.

raised → notified → acknowledged → on_scene → resolved(outcome), or cancelled. Anything else
is refused with a reason code; nothing is changed then.
"""

from __future__ import annotations

from typing import get_args

from sqlalchemy import select

from hub.alarms.ledger import Ledger
from hub.alarms.lifecycle import REPLY_TRIGGERS, TABLE, Refused, decide
from hub.store.schema import AlarmRow, TransitionRow
from protocol.messages import Outcome as ResolveOutcome
from protocol.messages import ReplyAction

__all__ = ["OUTCOMES", "TARGET", "Refused", "apply", "check", "replayed"]
OUTCOMES: frozenset[str] = frozenset(get_args(ResolveOutcome))
TARGET: dict[str, str] = {
    trigger: step.next
    for (state, trigger), step in TABLE.items()
    if trigger in REPLY_TRIGGERS and step.next != state
}
"""Where a reply leads (ack → acknowledged …): a resent reply finds the alarm there."""


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
    """Raise `Refused` if `action` is not allowed on `alarm` now (the lifecycle table)."""
    if action not in REPLY_TRIGGERS:
        raise Refused("unknown_action")
    decide(alarm.state, action)  # type: ignore[arg-type]
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
    if action == "decline":
        note = f"declined{': ' + note if note else ''}"
    kept = outcome if action == "resolve" else None
    ledger.fire(alarm, action, actor, note, kept, channel=channel)
