"""Arrival timer: an acknowledged alarm whose responder has not reported `arrived` within the
policy's arrival timeout (fire: on scene within 3 minutes) must not wait in silence.

The due time is `alarms.arrival_due_at`, armed by the acknowledgement (`Ledger.move`) and
cleared by arrival or closing, so it survives a hub restart like the escalation timer. When
it passes, the history gets a note and the duty officer (for fire also the supervisor) an
alert on every channel they have, once per alarm; they become recipients, so they hear of
the arrival and the outcome.
"""

from __future__ import annotations

from sqlalchemy import select

from hub.alarms.ledger import Ledger
from hub.alarms.routing import audience_workers
from hub.alarms.updates import who
from hub.policy import Audience
from hub.store.schema import AlarmRow, TransitionRow

OVERDUE_AUDIENCES: dict[str, list[Audience]] = {"fire": ["duty_officer", "supervisor"]}
DEFAULT_AUDIENCES: list[Audience] = ["duty_officer"]


def span(seconds: float) -> tuple[str, str]:
    """Return (zh, en) of a duration: 3 分钟 / 3 min, or 45 秒 / 45 s."""
    if seconds >= 60:
        minutes = f"{seconds / 60:.1f}".removesuffix(".0")
        return f"{minutes} 分钟", f"{minutes} min"
    return f"{seconds:.0f} 秒", f"{seconds:.0f} s"


def arrival_due(ledger: Ledger, limit: int | None = None) -> int:
    """Tell the overseers about the acknowledged alarms whose responder is overdue, the `limit`
    earliest (None: all); return how many."""
    due = ledger.due(AlarmRow.arrival_due_at, AlarmRow.state == "acknowledged", limit=limit)
    for alarm in due:
        ledger.fire(alarm, "overdue", "system")  # ALERT_OVERSEERS runs `overdue`
    return len(due)


def overdue(ledger: Ledger, alarm: AlarmRow) -> None:
    """Note that nobody arrived at `alarm` and alert its overseers (once: the timer is spent)."""
    alarm.arrival_due_at = None
    ack = ledger.session.scalars(
        select(TransitionRow)
        .where(TransitionRow.alarm_id == alarm.id, TransitionRow.to_state == "acknowledged")
        .order_by(TransitionRow.id.desc())
        .limit(1)
    ).first()
    taker = ack.by if ack is not None else "system"
    waited_zh, waited_en = span((ledger.now - ack.ts).total_seconds() if ack else 0.0)
    name_zh, name_en = who(ledger, alarm, taker)
    headline = (
        f"{name_zh}已接单 {waited_zh}，仍未到场",
        f"{name_en} acknowledged {waited_en} ago and has not arrived",
    )
    audiences = OVERDUE_AUDIENCES.get(alarm.cls, DEFAULT_AUDIENCES)
    workers = [
        w
        for w in audience_workers(ledger.session, alarm.site, alarm.grid, audiences, ledger.now)
        if w.id != taker
    ]
    told = ", ".join(w.id for w in workers) or "nobody else on duty"
    ledger.note(alarm, "system", f"{taker} not on scene {waited_en} after ack; told {told}")
    ledger.notify(alarm, workers, alarm.state, headline=headline)
    ledger.add_recipients(alarm, workers, alarm.tier)
