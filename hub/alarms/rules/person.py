"""Rules for a person in trouble: SOS `call`, `fall`, `inactivity` events and `cancel`.

Nothing the resident does is silent: a repeated call or fall on an open alarm re-alerts
everyone paged ("pressed again, 3rd time"), at most once per REALERT_S; a cancel after a
worker acknowledged does not cancel, it tells those paged "the resident says OK".
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub.alarms.actions import Action, SendCommand
from hub.alarms.ledger import Ledger
from hub.alarms.lifecycle import allows
from hub.alarms.updates import MQTT_ONLY
from hub.store.schema import AlarmRow, DeviceRow, TransitionRow
from protocol.messages import Event, IndicateCmd, IndicateState

PERSON_CLASSES = ("call", "fall", "inactivity")
CONFIRMED_KINDS = frozenset({"call", "fall", "inactivity", "smoke"})
"""Event kinds whose sender is told `received` once the hub has committed them."""
REALERT_S = 60.0
"""A repeat re-alerts those paged at most this often (the count is in every re-alert)."""
REALERT_NOTE = "repeat re-alerted"
SAYS_OK: tuple[str, str] = ("居民按了取消键，表示没事；请仍按流程确认后再解除", "Resident says OK "
                            "(pressed cancel); still confirm before you resolve")  # fmt: skip


def ordinal(n: int) -> str:
    """Return 2nd, 3rd, 4th, 11th, 21st ..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def repeat_headline(cls: str, count: int) -> tuple[str, str]:
    """Return the (zh, en) headline of a repeat: 再次按下求助（第3次） / pressed again, 3rd time."""
    if cls == "fall":
        return f"再次检测到跌倒（第{count}次）", f"Fall detected again, {ordinal(count)} time"
    return f"居民再次按下求助（第{count}次）", f"Pressed again, {ordinal(count)} time"


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
            if cls in ("call", "fall"):
                _realert(ledger, existing)
        return existing
    alarm = ledger.raise_alarm(device, cls, reason or cls, event, note)
    ledger.page(alarm, 0)
    return alarm


def confirm_event(ledger: Ledger, device: str, kind: str, alarm_id: str | None) -> list[Action]:
    """Tell the device that sent an alarm event that the hub has it (its alarm's state)."""
    if kind not in CONFIRMED_KINDS:
        return ledger.actions
    alarm = ledger.session.get(AlarmRow, alarm_id) if alarm_id else None
    state: IndicateState = "received"
    if alarm is not None and alarm.state in ("acknowledged", "on_scene", "resolved", "cancelled"):
        state = alarm.state  # type: ignore[assignment]
    site = alarm.site if alarm is not None else None
    if site is None:
        return ledger.actions
    cmd = IndicateCmd(ts=ledger.now, state=state, alarm=alarm_id)
    ledger.actions.append(SendCommand(site=site, device=device, command=cmd))
    return ledger.actions


def _realert(ledger: Ledger, alarm: AlarmRow) -> None:
    """Page everyone already paged again with the press count, at most once per REALERT_S."""
    last = ledger.session.scalars(
        select(TransitionRow.ts)
        .where(TransitionRow.alarm_id == alarm.id, TransitionRow.note.startswith(REALERT_NOTE))
        .order_by(TransitionRow.ts.desc())
        .limit(1)
    ).first()
    if last is not None and (ledger.now - last).total_seconds() < REALERT_S:
        return
    count = alarm.repeats + 1
    ledger.notify(alarm, ledger.recipients(alarm), alarm.state, repeat_headline(alarm.cls, count))
    ledger.note(alarm, "resident", f"{REALERT_NOTE}: pressed {count} times")


def on_cancel(ledger: Ledger, device: DeviceRow, event: Event) -> list[AlarmRow]:
    """Cancel the device's person alarms raised within the cancel window; note the others."""
    alarms = ledger.session.scalars(
        select(AlarmRow)
        .where(
            AlarmRow.site == device.site,
            AlarmRow.device == device.id,
            AlarmRow.cls.in_(PERSON_CLASSES),
            AlarmRow.active,
        )
        .order_by(AlarmRow.raised_at.desc())
        .with_for_update()
    ).all()
    window = timedelta(seconds=ledger.policy.cancel_window_s)
    for alarm in alarms:
        alarm.last_event = event.id
        alarm.event_ids = [*alarm.event_ids, event.id][-100:]
        if ledger.now - alarm.raised_at <= window and allows(alarm.state, "cancel"):
            ledger.fire(alarm, "cancel", "resident", "cancelled by the resident")
        else:
            # Acknowledged (someone is on the way) or past the window: the worker decides.
            ledger.note(alarm, "resident", "resident says OK (pressed cancel); still check")
            ledger.notify(alarm, ledger.recipients(alarm), alarm.state, SAYS_OK, MQTT_ONLY)
            shown = alarm.state if alarm.state in ("acknowledged", "on_scene") else "received"
            ledger.indicate(alarm, shown)  # type: ignore[arg-type]
    return list(alarms)
