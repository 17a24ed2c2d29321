"""Rules for a person in trouble: SOS `call`, `fall`, `inactivity` events and `cancel`."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub.alarms.ledger import Ledger
from hub.alarms.updates import tell_others
from hub.store.schema import AlarmRow, DeviceRow
from protocol.messages import Event

PERSON_CLASSES = ("call", "fall", "inactivity")


def raise_or_repeat(
    ledger: Ledger,
    device: DeviceRow,
    cls: str,
    event: Event | None,
    reason: str | None = None,
    note: str = "",
) -> AlarmRow:
    """Raise a person alarm and page tier 0, or count a repeat of the active one."""
    existing = ledger.active(device.site, device.id, cls)
    if existing is not None:
        if event is not None:
            ledger.repeat(existing, event)
        return existing
    alarm = ledger.raise_alarm(device, cls, reason or cls, event, note)
    ledger.page(alarm, 0)
    if cls in ("call", "fall"):
        ledger.indicate(alarm, "sent")
    return alarm


def on_cancel(ledger: Ledger, device: DeviceRow, event: Event) -> list[AlarmRow]:
    """Cancel the device's person alarms raised within the cancel window; note the others."""
    alarms = ledger.session.scalars(
        select(AlarmRow)
        .where(
            AlarmRow.site == device.site,
            AlarmRow.device == device.id,
            AlarmRow.cls.in_(PERSON_CLASSES),
            AlarmRow.active.is_(True),
        )
        .order_by(AlarmRow.raised_at.desc())
        .with_for_update()
    ).all()
    window = timedelta(seconds=ledger.policy.cancel_window_s)
    for alarm in alarms:
        alarm.last_event = event.id
        alarm.event_ids = [*alarm.event_ids, event.id][-100:]
        if ledger.now - alarm.raised_at <= window and alarm.state != "on_scene":
            ledger.move(alarm, "cancelled", "resident", "cancelled by the resident")
            tell_others(ledger, alarm, "resident")
            ledger.indicate(alarm, "cancelled")
        else:
            ledger.note(
                alarm, "resident", "resident pressed cancel after the cancel window; still check"
            )
    return list(alarms)
