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

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, tuple_

from hub.alarms.ledger import Ledger
from hub.policy import Policy
from hub.store.reads import loaded
from hub.store.schema import AlarmRow, DeviceRow, DeviceStateRow
from protocol.messages import Event, Status

TROUBLE_KINDS = ("low_battery", "tamper", "fault")
FLAP_CHANGES = 6
"""Online/offline changes within `FLAP_WINDOW_S` that make a device `flapping`."""
FLAP_WINDOW_S = 600.0
Key = tuple[str, str]


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
    row = loaded(ledger.session, DeviceStateRow, (device.site, device.id))
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
    was_online = row.online
    if not row.online and (row.last_seen is not None or row.offline_since is not None):
        _flap(ledger, device, row)
    row.offline_since = None
    row.last_seen = ledger.now
    row.online = True
    if was_online:
        # An offline trouble is raised with the row set offline, and only this function (or
        # the bulk path, which leaves such devices to it) sets a row online again, resolving
        # it: an online device has none, no query needed (one fewer on every SOS).
        return
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


def limit_s(
    policy: Policy, household: str | None, device_beat: float | None, state_beat: float | None
) -> float:
    """Return how many seconds of silence make a device offline (`heartbeat_limit`)."""
    kind = "home" if household else "common"
    beat = state_beat or device_beat or policy.heartbeat_s.get(kind, 30.0)
    return policy.missed_heartbeats * beat + policy.offline_grace_s


def heartbeat_limit(ledger: Ledger, device: DeviceRow, state: DeviceStateRow | None) -> float:
    """Return how many seconds of silence make `device` offline."""
    beat = state.heartbeat_s if state else None
    return limit_s(ledger.policy, device.household, device.heartbeat_s, beat)


@dataclass(frozen=True, slots=True)
class Watched:
    """What supervision needs to know of one device (`online` None: it never reported)."""

    household: str | None
    device_beat: float | None
    online: bool | None
    state_beat: float | None
    last_seen: datetime | None
    offline_since: datetime | None


def due(policy: Policy, w: Watched, watching_since: datetime) -> datetime | None:
    """Return the instant after which `supervise` raises this device's offline trouble.

    None: never, until a sign of life (it is offline and its trouble was raised already).
    """
    return due_of(
        policy,
        w.household,
        w.device_beat,
        w.online,
        w.state_beat,
        w.last_seen,
        w.offline_since,
        watching_since,
    )


def due_of(
    policy: Policy,
    household: str | None,
    device_beat: float | None,
    online: bool | None,
    state_beat: float | None,
    last_seen: datetime | None,
    offline_since: datetime | None,
    watching_since: datetime,
) -> datetime | None:
    """`due` on a `Watched`'s fields, without building one (plain.py does, per event)."""
    if online is False:
        if offline_since is None:
            return None
        return offline_since + timedelta(seconds=policy.offline_grace_s)
    last = watching_since
    if online is not None and last_seen is not None and last_seen > watching_since:
        last = last_seen
    return last + timedelta(seconds=limit_s(policy, household, device_beat, state_beat))


WATCHED = (
    DeviceRow.site,
    DeviceRow.id,
    DeviceRow.household,
    DeviceRow.heartbeat_s,
    DeviceStateRow.online,
    DeviceStateRow.heartbeat_s,
    DeviceStateRow.last_seen,
    DeviceStateRow.offline_since,
)
CHUNK = 500
"""Devices per query when supervision reads only some (SQLite's variable limit is 32,766)."""


def _watched(ledger: Ledger, keys: Collection[Key] | None) -> Iterator[tuple[Key, Watched]]:
    query = select(*WATCHED).outerjoin(
        DeviceStateRow,
        (DeviceStateRow.site == DeviceRow.site) & (DeviceStateRow.device == DeviceRow.id),
    )
    chunks: list[list[Key] | None] = [None]
    if keys is not None:
        ordered = sorted(keys)
        chunks = [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]
    for chunk in chunks:
        q = query if chunk is None else query.where(tuple_(DeviceRow.site, DeviceRow.id).in_(chunk))
        for (
            site,
            dev,
            household,
            beat,
            online,
            state_beat,
            last_seen,
            since,
        ) in ledger.session.execute(q):
            yield (site, dev), Watched(household, beat, online, state_beat, last_seen, since)


def supervise(
    ledger: Ledger, watching_since: datetime, keys: Collection[Key] | None = None
) -> dict[Key, datetime | None]:
    """Mark silent devices offline and raise trouble once per outage.

    Silence is counted from the later of the last sign of life and `watching_since` (the
    engine's start), so a hub restart does not flag every device before it can report.
    Judges every registered device, or only `keys`; returns each judged device's next `due`
    (None after its trouble was raised), so the engine can look only at the devices due.
    """
    grace = ledger.policy.offline_grace_s
    nxt: dict[Key, datetime | None] = {}
    for key, w in list(_watched(ledger, keys)):
        when = due(ledger.policy, w, watching_since)
        if when is None or ledger.now <= when:
            nxt[key] = when
            continue
        device = ledger.session.get(DeviceRow, key)
        assert device is not None
        state = _state(ledger, device)
        nxt[key] = None
        if w.online is False:
            state.offline_since = None  # raised once per outage
            raise_trouble(
                ledger, device, "offline", None, f"device reported offline {grace:g} s ago"
            )
            continue
        limit = limit_s(ledger.policy, w.household, w.device_beat, w.state_beat)
        state.online = False
        raise_trouble(ledger, device, "offline", None, f"no heartbeat for {limit:g} s")
    return nxt
