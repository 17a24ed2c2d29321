"""A duty officer hands an open alarm to another worker: paged now, may answer it, noted."""

from __future__ import annotations

from hub.alarms.ledger import CLOSED, Ledger
from hub.alarms.replies import Refused
from hub.store.schema import AlarmRow, WorkerRow


def reassign(ledger: Ledger, alarm: AlarmRow, worker: WorkerRow, by: str, note: str) -> None:
    """Page `worker` for `alarm` at its current tier and record who handed it over, and why."""
    if alarm.state in CLOSED:
        raise Refused("alarm_closed")
    if worker.site != alarm.site:
        raise Refused("unknown_worker")
    ledger.notify(alarm, [worker], "notified" if alarm.state == "raised" else alarm.state)
    ledger.add_recipients(alarm, [worker], alarm.tier)
    ledger.note(alarm, by, f"reassigned to {worker.id}{': ' + note if note else ''}")
