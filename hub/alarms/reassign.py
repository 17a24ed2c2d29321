"""A duty officer hands an open alarm to another worker: paged now, may answer it, noted."""

from __future__ import annotations

from hub.alarms.ledger import Ledger
from hub.alarms.lifecycle import Refused, decide
from hub.store.schema import AlarmRow, WorkerRow


def reassign(ledger: Ledger, alarm: AlarmRow, worker: WorkerRow, by: str, note: str) -> None:
    """Page `worker` for `alarm` at its current tier and record who handed it over, and why."""
    decide(alarm.state, "reassign")  # type: ignore[arg-type]  # alarm_closed first
    if worker.site != alarm.site:
        raise Refused("unknown_worker")
    ledger.fire(alarm, "reassign", by, note, worker=worker)
