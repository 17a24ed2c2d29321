"""Smoke: a listed smoke detector's alarm contact is a `fire` at once (the detector has done
its own verification); only an analog reading (`adc:` source, no detector's judgement) raises a
quiet `pre_alarm` for the duty officer. That becomes a `fire` when the smoke persists for the
policy's `smoke_verify_s` (at most 60 s, UL 864's limit for alarm verification), or when a second
detector in the building agrees; a reading back below its threshold in that time (`smoke_clear`)
resolves the pre-alarm as `cleared`.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub.alarms.ledger import Ledger
from hub.store.schema import AlarmRow, DeviceRow, TransitionRow
from protocol.messages import Event


def _active_in_building(ledger: Ledger, device: DeviceRow, cls: str) -> AlarmRow | None:
    return ledger.session.scalars(
        select(AlarmRow)
        .where(
            AlarmRow.site == device.site,
            AlarmRow.building == device.building,
            AlarmRow.cls == cls,
            AlarmRow.active,
        )
        .order_by(AlarmRow.raised_at)
        .with_for_update()
    ).first()


def _note_spread(ledger: Ledger, fire: AlarmRow, device: DeviceRow) -> None:
    """Tell responders (in the alarm's history) when smoke reaches another detector."""
    if device.id == fire.device:
        return
    note = f"smoke also at {device.id} {device.location}".rstrip()
    known = ledger.session.scalars(
        select(TransitionRow.id).where(
            TransitionRow.alarm_id == fire.id, TransitionRow.note == note
        )
    ).first()
    if known is None:
        ledger.note(fire, "system", note)


def is_analog(event: Event) -> bool:
    """Tell whether a smoke event is a bare analog reading rather than a detector's alarm."""
    return event.source.startswith("adc:") or event.data.get("analog") is True


def on_smoke(ledger: Ledger, device: DeviceRow, event: Event) -> AlarmRow:
    """Raise, repeat or confirm the building's smoke alarm."""
    fire = _active_in_building(ledger, device, "fire")
    if fire is not None:
        ledger.repeat(fire, event)
        _note_spread(ledger, fire, device)
        return fire
    analog = is_analog(event)
    own = ledger.active(device.site, device.id, "pre_alarm")
    if own is not None:
        ledger.repeat(own, event)
        if not analog:
            confirm_fire(ledger, own, f"smoke detector {device.id} in alarm")
        return own
    other = _active_in_building(ledger, device, "pre_alarm")
    if other is not None:
        ledger.repeat(other, event)
        confirm_fire(ledger, other, f"second detector {device.id} reports smoke")
        return other
    pre = ledger.raise_alarm(device, "pre_alarm", "smoke", event)
    if not analog:
        confirm_fire(ledger, pre, f"smoke detector {device.id} in alarm (alarm contact)")
        return pre
    if ledger.policy.smoke_verify_s <= 0:
        confirm_fire(ledger, pre, "smoke verification disabled")
        return pre
    pre.verify_at = ledger.now + timedelta(seconds=ledger.policy.smoke_verify_s)
    ledger.page(pre, 0)
    return pre


def on_smoke_clear(ledger: Ledger, device: DeviceRow, event: Event) -> AlarmRow | None:
    """Resolve the device's unconfirmed pre-alarm ("cleared"); only note it on a fire."""
    pre = ledger.active(device.site, device.id, "pre_alarm")
    if pre is not None:
        ledger.repeat(pre, event)
        ledger.fire(pre, "clear", "system", "smoke cleared before confirmation", "cleared")
        return pre
    fire = ledger.active(device.site, device.id, "fire")
    if fire is not None:
        ledger.repeat(fire, event)
        ledger.note(fire, "system", f"detector {device.id} reports smoke cleared")
    return fire


def confirm_fire(ledger: Ledger, alarm: AlarmRow, why: str) -> None:
    """Turn a pre-alarm into a fire: page the fire station at once, sound the building sirens."""
    ledger.fire(alarm, "confirm_fire", "system", f"fire confirmed: {why}")


def verify_due(ledger: Ledger, limit: int | None = None) -> int:
    """Confirm the pre-alarms whose smoke has persisted for the verification time, the `limit`
    earliest (None: all); return how many."""
    due = ledger.due(AlarmRow.verify_at, AlarmRow.cls == "pre_alarm", limit=limit)
    for alarm in due:
        confirm_fire(ledger, alarm, f"smoke persisted {ledger.policy.smoke_verify_s:g} s")
    return len(due)
