"""The fast path of a group commit: events that raise, repeat or close no alarm (`test`,
`activity`) are stored in bulk and taken as one sign of life per device (issue #8, item 3).

The ORM path costs each event a savepoint, a device read, a duplicate read, an INSERT with its
flush and two liveness reads (~2 ms here). A run of plain events costs instead: one read of
its devices, one of the ids already stored, one of their liveness rows, one of their offline
troubles, one multi-row INSERT, and an UPDATE per device at the commit. The result is exactly
what the ORM path gives: an unknown device refused, a known event id a duplicate (confirmed as
before), `trouble.seen` once per device (a device back online resolves its offline trouble).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import insert, select, tuple_
from sqlalchemy.orm import Session

from hub.alarms.actions import Outcome
from hub.alarms.ledger import Ledger
from hub.alarms.outbox import persist
from hub.alarms.rules.person import confirm_event
from hub.alarms.rules.trouble import seen
from hub.store.schema import AlarmRow, DeviceRow, DeviceStateRow, EventRow
from protocol.messages import Event

log = logging.getLogger(__name__)
PLAIN_KINDS: frozenset[str] = frozenset({"test", "activity"})
"""Event kinds no rule turns into an alarm: stored, and a sign of life of their device."""
CLOCK_SKEW_FLAG_S = 300.0

Key = tuple[str, str]


def record_plain(
    ledger: Ledger,
    items: Sequence[tuple[int, str, Event]],
    outcomes: list[Outcome | None],
    clock: Callable[[], datetime],
) -> None:
    """Store the plain events `items` (index, site, event) and set `outcomes[index]` of each.

    Each gets its own `received_at` from `clock`, strictly increasing: the store lists events
    in receipt order, as it does for events taken one by one.
    """
    if not items:
        return
    session = ledger.session
    keys = sorted({(site, e.device) for _, site, e in items})
    devices = _devices(session, keys)
    known = {
        r.id: r
        for r in session.execute(
            select(EventRow.id, EventRow.device, EventRow.kind, EventRow.alarm_id).where(
                EventRow.id.in_([e.id for _, _, e in items])
            )
        )
    }
    rows: list[dict[str, object]] = []
    fresh: list[tuple[int, DeviceRow]] = []
    taken: set[str] = set()
    last = ledger.now - timedelta(microseconds=1)
    for index, site, event in items:
        device = devices.get((site, event.device))
        if device is None:
            log.info("input refused: %s", "unknown_device")
            outcomes[index] = Outcome(rejected="unknown_device")
            continue
        old = known.get(event.id)
        if old is not None:
            # A resent event: the same answer as the ORM path (nothing for plain kinds).
            answer = Ledger(session, ledger.policy, ledger.now)
            actions = confirm_event(answer, old.device, old.kind, old.alarm_id)
            outcomes[index] = Outcome(duplicate=True, actions=actions)
            continue
        if event.id in taken:
            outcomes[index] = Outcome(duplicate=True)
            continue
        taken.add(event.id)
        at = max(clock(), last + timedelta(microseconds=1))
        last = at
        skew = (event.ts - at).total_seconds()
        rows.append(
            {
                "id": event.id,
                "site": site,
                "device": event.device,
                "seq": event.seq,
                "ts": event.ts,
                "received_at": at,
                "kind": event.kind,
                "source": event.source,
                "data": dict(event.data),
                "alarm_id": None,
                "clock_skew_s": round(skew, 3) if abs(skew) > CLOCK_SKEW_FLAG_S else None,
            }
        )
        fresh.append((index, device))
    if rows:
        session.execute(insert(EventRow), rows)
    _alive(ledger, fresh, outcomes)


def _devices(session: Session, keys: list[Key]) -> dict[Key, DeviceRow]:
    found = session.scalars(
        select(DeviceRow).where(tuple_(DeviceRow.site, DeviceRow.id).in_(keys))
    ).all()
    return {(d.site, d.id): d for d in found}


def _alive(
    ledger: Ledger, fresh: list[tuple[int, DeviceRow]], outcomes: list[Outcome | None]
) -> None:
    """`trouble.seen` once per device; a device already online without offline trouble is
    only stamped (what `seen` would do), the others go through `seen` itself."""
    session = ledger.session
    keys = sorted({(d.site, d.id) for _, d in fresh})
    if not keys:
        return
    states = {
        (r.site, r.device): r
        for r in session.scalars(
            select(DeviceStateRow).where(
                tuple_(DeviceStateRow.site, DeviceStateRow.device).in_(keys)
            )
        )
    }
    troubled: set[Key] = {
        (r.site, r.device)
        for r in session.execute(
            select(AlarmRow.site, AlarmRow.device).where(
                AlarmRow.active.is_(True),
                AlarmRow.cls == "trouble",
                tuple_(AlarmRow.site, AlarmRow.device).in_(keys),
            )
        )
    }
    done: set[Key] = set()
    for index, device in fresh:
        key = (device.site, device.id)
        if key in done:
            outcomes[index] = Outcome()
            continue
        done.add(key)
        state = states.get(key)
        if state is not None and state.online and key not in troubled:
            state.offline_since = None
            state.last_seen = ledger.now
            outcomes[index] = Outcome()
            continue
        own = Ledger(session, ledger.policy, ledger.now)
        seen(own, device)
        own.actions = persist(session, own.now, own.actions)
        outcomes[index] = Outcome(actions=own.actions)
