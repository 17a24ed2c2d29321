"""Escalate alarms nobody acknowledged in time: page the next tier, then keep paging the last."""

from __future__ import annotations

from sqlalchemy import select

from hub.alarms.ledger import Ledger
from hub.store.schema import AlarmRow


def escalate_due(ledger: Ledger, limit: int | None = None) -> int:
    """Page the next tier of the unacknowledged alarms whose timer has run out, the `limit`
    earliest (None: all); return how many."""
    due = ledger.session.scalars(
        select(AlarmRow)
        .where(
            AlarmRow.active.is_(True),
            AlarmRow.state.in_(("raised", "notified")),
            AlarmRow.next_escalation_at.is_not(None),
            AlarmRow.next_escalation_at <= ledger.now,
        )
        .order_by(AlarmRow.next_escalation_at)
        # Several hubs on one PostgreSQL: each due alarm is escalated by exactly one of them.
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for alarm in due:
        ledger.fire(alarm, "timeout", "system", f"not acknowledged at tier {alarm.tier}")
    return len(due)
