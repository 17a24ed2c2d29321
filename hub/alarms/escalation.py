"""Escalate alarms nobody acknowledged in time: page the next tier, then keep paging the last."""

from __future__ import annotations

from hub.alarms.ledger import Ledger
from hub.store.schema import AlarmRow


def escalate_due(ledger: Ledger, limit: int | None = None) -> int:
    """Page the next tier of the unacknowledged alarms whose timer has run out, the `limit`
    earliest (None: all); return how many."""
    due = ledger.due(
        AlarmRow.next_escalation_at, AlarmRow.state.in_(("raised", "notified")), limit=limit
    )
    for alarm in due:
        ledger.fire(alarm, "timeout", "system", f"not acknowledged at tier {alarm.tier}")
    return len(due)
