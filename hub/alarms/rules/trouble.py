"""Device supervision for the maintenance queue: offline (last will or missed heartbeats),
low battery, tamper, fault, flapping. Never routed to the fire station or mixed with
life-safety alarms.

Hysteresis: a device that reports `offline` (its last will) is offline only after
`policy.offline_grace_s` without coming back (`supervise` raises it); one back within the grace
pages nobody. Every online/offline change is counted; `FLAP_CHANGES` of them within
`FLAP_WINDOW_S` is ONE `trouble` alarm (reason `flapping`, `count` = changes so far), paged
once — not an alarm per change.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from hub.alarms.ledger import Ledger
from hub.store.schema import AlarmRow, DeviceRow, DeviceStateRow
from protocol.messages import Event, Status

TROUBLE_KINDS = ("low_battery", "tamper", "fault")
FLAP_CHANGES = 6
"""Online/offline changes within `FLAP_WINDOW_S` that make a device `flapping`."""
FLAP_WINDOW_S = 600.0


def raise_trouble(
    ledger: Ledger, device: DeviceRow, reason: str, event: Event | None, note: str = ""
) -> AlarmRow:
    """Raise a trouble alarm for a device, or note a repeat/new reason on the active one."""
    existing = ledger.active(device.site, device.id, "trouble")
    if existing is not None:
        if event is not None:
            ledger.repeat(existing, event)
        if existing.reason != reason:
            ledger.note(existing, "system", f"also: {reason}")
        return existing
    alarm = ledger.raise_alarm(device, "trouble", reason, event, note)
    ledger.page(alarm, 0)
    return alarm


def _state(ledger: Ledger, device: DeviceRow) -> DeviceStateRow:
    row = ledger.session.get(DeviceStateRow, (device.site, device.id))
    if row is None:
        row = DeviceStateRow(site=device.site, device=device.id, online=False)
        ledger.session.add(row)
    return row


def _flap(ledger: Ledger, device: DeviceRow, row: DeviceStateRow) -> None:
    """Count one online/offline change; enough of them in the window is one flapping alarm."""
    since = row.flap_since
    if since is None or (ledger.now - since).total_seconds() > FLAP_WINDOW_S:
        row.flap_since, row.flaps = ledger.now, 0
    row.flaps = (row.flaps or 0) + 1
    if row.flaps < FLAP_CHANGES:
        return
    minutes = FLAP_WINDOW_S / 60
    alarm = raise_trouble(
        ledger, device, "flapping", None, f"{row.flaps} online/offline changes in {minutes:g} min"
    )
    alarm.count = max(alarm.count or 0, row.flaps)


def seen(ledger: Ledger, device: DeviceRow) -> None:
    """Mark a device alive now; a device back online resolves its offline trouble."""
    row = _state(ledger, device)
    if not row.online and (row.last_seen is not None or row.offline_since is not None):
        _flap(ledger, device, row)
    row.offline_since = None
    row.last_seen = ledger.now
    row.online = True
    trouble = ledger.active(device.site, device.id, "trouble")
    if trouble is not None and trouble.reason == "offline":
        ledger.fire(trouble, "recover", "system", "device back online", "recovered")


def on_status(ledger: Ledger, device: DeviceRow, status: Status) -> None:
    """Record an online/offline status; `offline` (e.g. the last will) raises trouble."""
    if status.state == "online":
        seen(ledger, device)
    else:
        row = _state(ledger, device)
        if row.online:
            _flap(ledger, device, row)
        row.online = False
        # Not yet trouble: `supervise` raises it if the device is not back within the grace.
        row.offline_since = row.offline_since or ledger.now
    row = _state(ledger, device)
    if status.heartbeat_s is not None:
        row.heartbeat_s = status.heartbeat_s
    row.last_status = status.model_dump(mode="json")


def heartbeat_limit(ledger: Ledger, device: DeviceRow, state: DeviceStateRow | None) -> float:
    """Return how many seconds of silence make `device` offline."""
    kind = "home" if device.household else "common"
    beat = (
        (state.heartbeat_s if state else None)
        or device.heartbeat_s
        or ledger.policy.heartbeat_s.get(kind, 30.0)
    )
    return ledger.policy.missed_heartbeats * beat + ledger.policy.offline_grace_s


def supervise(ledger: Ledger, watching_since: datetime) -> None:
    """Mark silent devices offline and raise trouble once per outage.

    Silence is counted from the later of the last sign of life and `watching_since` (the
    engine's start), so a hub restart does not flag every device before it can report.
    """
    rows = ledger.session.execute(
        select(DeviceRow, DeviceStateRow).outerjoin(
            DeviceStateRow,
            (DeviceStateRow.site == DeviceRow.site) & (DeviceStateRow.device == DeviceRow.id),
        )
    ).all()
    grace = ledger.policy.offline_grace_s
    for device, state in rows:
        if state is not None and not state.online:
            since = state.offline_since
            if since is not None and (ledger.now - since).total_seconds() > grace:
                state.offline_since = None  # raised once per outage
                raise_trouble(
                    ledger, device, "offline", None, f"device reported offline {grace:g} s ago"
                )
            continue
        last = max(state.last_seen or watching_since, watching_since) if state else watching_since
        limit = heartbeat_limit(ledger, device, state)
        if (ledger.now - last).total_seconds() <= limit:
            continue
        _state(ledger, device).online = False
        raise_trouble(ledger, device, "offline", None, f"no heartbeat for {limit:g} s")
