"""The fast path of a group commit (issue #8, "a fast engine"): inputs whose only effect is a
device's own rows are decided in memory and written in bulk.

The ORM path costs each input a savepoint, a device read, a duplicate read, an INSERT with its
flush and liveness reads (~1-9 ms here). A batch's `Bulk` instead reads once, for all its
devices: the devices (locking their rows, sorted: rules/order.py), their `device_state` rows,
which of them have an active `offline` trouble, and the event ids already stored. Then, in the
batch's order, it takes:

* a plain event (`test`, `activity`: no rule turns it into an alarm) — stored, and a sign of
  life of its device (`trouble.seen`);
* a status (`online`/`offline`, heartbeat interval, last status) — `trouble.on_status`, after
  the stale check of rules/order.py;

as long as its effect is only the device's `device_state` row: not a device back online with an
active offline trouble (resolves it), not the online/offline change that makes it `flapping`
(raises it). Those, and every other input, go through the ORM rules (`Engine`), each in its own
savepoint, after what `Bulk` holds is written (`flush`), and `Bulk` re-reads that device after.
The result is exactly what the ORM path gives: an unknown device refused, a known event id a
duplicate (confirmed as before), a stale status ignored, one outcome per input, in order.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Select, Update, and_, bindparam, select, update

from hub.alarms.actions import Outcome
from hub.alarms.ledger import Ledger
from hub.alarms.outbox import persist
from hub.alarms.rules.person import confirm_event
from hub.alarms.rules.trouble import FLAP_CHANGES, FLAP_WINDOW_S, due_of, seen
from hub.store import fast
from hub.store.bulk import among, insert_rows, insert_tuples, listed
from hub.store.schema import AlarmRow, DeviceRow, DeviceStateRow, EventRow
from protocol.messages import Event, Status

log = logging.getLogger(__name__)
PLAIN_KINDS: frozenset[str] = frozenset({"test", "activity"})
"""Event kinds no rule turns into an alarm: stored, and a sign of life of their device."""
CLOCK_SKEW_FLAG_S = 300.0
CHUNK = 500
"""Keys per IN list (SQLite allows 32,766 variables a statement)."""
TICK = timedelta(microseconds=1)
UNCHANGED, SEEN, ROW = 0, 1, 2

Key = tuple[str, str]
Input = Event | Status
STATE = DeviceStateRow.metadata.tables["device_state"]
DEVICES = DeviceStateRow.metadata.tables["devices"]
EVENTS = DeviceStateRow.metadata.tables["events"]
EVENT_COLUMNS = (
    "id",
    "site",
    "device",
    "seq",
    "ts",
    "received_at",
    "kind",
    "source",
    "data",
    "alarm_id",
    "clock_skew_s",
)
STATE_COLUMNS = (
    "online",
    "last_seen",
    "heartbeat_s",
    "last_status",
    "offline_since",
    "flap_since",
    "flaps",
)


def _state_names(statuses: bool) -> tuple[str, ...]:
    """The `device_state` columns a batch reads and writes back: the last status (JSON) only
    when there are statuses to check against it (and to record)."""
    return tuple(c for c in STATE_COLUMNS if statuses or c != "last_status")


def _state_columns(statuses: bool) -> list[Any]:
    """The columns of `_state_names`."""
    return [STATE.c[c] for c in _state_names(statuses)]


@functools.lru_cache(maxsize=2)
def _update_state(statuses: bool) -> Update:
    """UPDATE a device's row by key (`k_site`, `k_device`): the columns the batch read. A batch
    without statuses did not read the last status: it must not write it (it would write None
    over the status the device last sent)."""
    where = and_(STATE.c.site == bindparam("k_site"), STATE.c.device == bindparam("k_device"))
    return update(STATE).where(where).values({c: bindparam(c) for c in _state_names(statuses)})


@functools.lru_cache(maxsize=8)
def _known(dialect: str) -> Select[Any]:
    """Which of the event ids bound as `ids` are stored, and as what."""
    columns = (EVENTS.c.id, EVENTS.c.device, EVENTS.c.kind, EVENTS.c.alarm_id)
    return select(*columns).where(among(EVENTS.c.id, "ids", dialect))


@functools.lru_cache(maxsize=8)
def _devices(dialect: str, statuses: bool) -> Select[Any]:
    """The devices of site `site` among `ids` with their liveness row (its last status only
    when `statuses`), their rows locked, in id order."""
    joined = DEVICES.outerjoin(
        STATE, and_(STATE.c.site == DEVICES.c.site, STATE.c.device == DEVICES.c.id)
    )
    return (
        select(
            DEVICES.c.id,
            DEVICES.c.household,
            DEVICES.c.heartbeat_s,
            STATE.c.device.label("stored"),
            *_state_columns(statuses),
        )
        .select_from(joined)
        .where(DEVICES.c.site == bindparam("site"), among(DEVICES.c.id, "ids", dialect))
        .order_by(DEVICES.c.id)
        .with_for_update(of=DEVICES)
    )


@functools.lru_cache(maxsize=8)
def _seen(dialect: str) -> Update:
    """Last seen `at` for the devices of site `k_site` among `ids`."""
    return (
        update(STATE)
        .where(STATE.c.site == bindparam("k_site"), among(STATE.c.device, "ids", dialect))
        .values(last_seen=bindparam("at"))
    )


@dataclass(slots=True)
class Live:
    """A device's `device_state` row as this batch sees it."""

    stored: bool
    online: bool = False
    last_seen: datetime | None = None
    heartbeat_s: float | None = None
    last_status: dict[str, Any] | None = None
    offline_since: datetime | None = None
    flap_since: datetime | None = None
    flaps: int = 0
    changed: int = 0
    """UNCHANGED, SEEN (only a sign of life of an online device: one UPDATE for them all) or
    ROW (anything else: its own UPDATE)."""

    def flap(self, now: datetime) -> bool:
        """Count one online/offline change (`trouble._flap`); False, changing nothing, when it
        makes the device flapping (an alarm: the ORM rules' job)."""
        since, flaps = self.flap_since, self.flaps
        if since is None or (now - since).total_seconds() > FLAP_WINDOW_S:
            since, flaps = now, 0
        if flaps + 1 >= FLAP_CHANGES:
            return False
        self.flap_since, self.flaps = since, flaps + 1
        return True


assert tuple(f.name for f in fields(Live))[1:8] == STATE_COLUMNS, "`Bulk._live` relies on it"


class Registered(NamedTuple):
    """What the bulk path needs of a registered device (a tuple: built for every device of
    every batch; 0.31 µs here where a frozen dataclass takes 0.48)."""

    household: str | None
    heartbeat_s: float | None


def by_site(keys: Iterable[Key]) -> dict[str, list[str]]:
    """Group device keys by site (IN lists on the primary key's second column)."""
    sites: dict[str, list[str]] = {}
    for site, device in sorted(set(keys)):
        sites.setdefault(site, []).append(device)
    return sites


def chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    """Split an IN list into statements SQLite accepts."""
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


class Bulk:
    """One group commit's view of its devices; takes the inputs the fast path can decide."""

    def __init__(
        self,
        ledger: Ledger,
        clock: Callable[[], datetime],
        watching_since: datetime,
        items: Sequence[tuple[str, Input]],
    ) -> None:
        """Lock and read the devices of `items` (sorted, rules/order.py) and what they need."""
        self.session = ledger.session
        self.policy = ledger.policy
        self.now = ledger.now
        self.clock = clock
        self.watching_since = watching_since
        self.devices: dict[Key, Registered] = {}
        self.states: dict[Key, Live] = {}
        self.offline: set[Key] = set()
        self.known: dict[str, tuple[str, str, str | None]] = {}
        self.taken: set[str] = set()
        self.rows: list[tuple[Any, ...]] = []
        """Events to INSERT, values in `EVENT_COLUMNS`' order."""
        self.due: dict[Key, datetime | None] = {}
        """Next supervision instant of devices decided here (set once committed)."""
        self.touched: set[Key] = set()
        """Devices the ORM rules changed: supervision judges them at its next pass."""
        self._last_received = self.now - TICK
        self._dialect = self.session.get_bind().dialect.name
        self._statuses = any(isinstance(item, Status) for _, item in items)
        self._names = _state_names(self._statuses)
        self._lock_and_read(by_site((site, item.device) for site, item in items))
        ids = [item.id for _, item in items if isinstance(item, Event)]
        if ids:
            known = fast.rows(
                self.session.connection(),
                _known(self._dialect),
                {"ids": listed(ids, self._dialect)},
            )
            for r in known:
                self.known[r[0]] = (r[1], r[2], r[3])

    def _lock_and_read(self, sites: dict[str, list[str]]) -> None:
        """Read the devices with their liveness rows, locking the devices' rows."""
        query = _devices(self._dialect, self._statuses)
        # Several hubs: every device lock of the batch first, in one sorted order, so two
        # hubs' group commits wait for each other instead of deadlocking (rules/order.py).
        for site, ids in sites.items():
            offline: list[str] = []
            # Nothing is pending yet (the batch's first reads): the connection, no flush.
            found = fast.rows(
                self.session.connection(), query, {"site": site, "ids": listed(ids, self._dialect)}
            )
            for r in found:
                key = (site, r[0])
                self.devices[key] = Registered(r[1], r[2])
                live = None if r[3] is None else self._live(r[4:])
                if live is not None:
                    self.states[key] = live
                if live is None or not live.online:
                    offline.append(r[0])
            # Only a device its row has offline can have an offline trouble (trouble.seen).
            for part in chunks(offline):
                self._read_offline(site, part)

    def _live(self, values: Sequence[Any]) -> Live:
        """A `Live` from the `self._names` columns of a `device_state` row (in `STATE_COLUMNS`'
        order, `last_status` left out when the batch has no status)."""
        if self._statuses:
            online, last_seen, heartbeat_s, last_status, offline_since, flap_since, flaps = values
        else:
            online, last_seen, heartbeat_s, offline_since, flap_since, flaps = values
            last_status = None
        return Live(
            True,
            bool(online),
            last_seen,
            heartbeat_s,
            last_status,
            offline_since,
            flap_since,
            flaps or 0,
        )

    def _read_states(self, site: str, ids: Sequence[str]) -> None:
        query = select(STATE.c.device, *_state_columns(self._statuses)).where(
            STATE.c.site == site, STATE.c.device.in_(ids)
        )
        for r in self.session.execute(query):
            self.states[(site, r[0])] = self._live(r[1:])
        self._read_offline(site, ids)

    def _read_offline(self, site: str, ids: Sequence[str]) -> None:
        """Note which of `ids` have an active offline trouble (a sign of life resolves it)."""
        for device in self.session.scalars(
            select(AlarmRow.device).where(
                AlarmRow.site == site,
                AlarmRow.device.in_(ids),
                AlarmRow.cls == "trouble",
                AlarmRow.reason == "offline",
                AlarmRow.active,
            )
        ):
            if device is not None:
                self.offline.add((site, device))

    def take(self, index: int, site: str, item: Input, outcomes: list[Outcome | None]) -> bool:
        """Decide `item` here and set `outcomes[index]` (True), or leave it to the ORM rules."""
        key = (site, item.device)
        device = self.devices.get(key)
        if device is None:
            log.info("input refused: %s", "unknown_device")
            outcomes[index] = Outcome(rejected="unknown_device")
            return True
        if isinstance(item, Status):
            return self._status(index, key, device, item, outcomes)
        if item.kind not in PLAIN_KINDS:
            return False
        old = self.known.get(item.id)
        if old is not None:
            # A resent event: the same answer as the ORM path (nothing for plain kinds).
            answer = Ledger(self.session, self.policy, self.now)
            outcomes[index] = Outcome(duplicate=True, actions=confirm_event(answer, *old))
            return True
        if item.id in self.taken:
            outcomes[index] = Outcome(duplicate=True)
            return True
        live = self.states.get(key) or Live(stored=False)
        level = self._alive(key, live)
        if not level:
            # Back online with an offline trouble, or flapping: `seen` itself, after the rows.
            self._add_event(site, item)
            self.flush()
            own = Ledger(self.session, self.policy, self.now)
            row = self.session.get(DeviceRow, key)
            assert row is not None
            seen(own, row)
            own.actions = persist(self.session, own.now, own.actions)
            self.session.flush()
            outcomes[index] = Outcome(actions=own.actions)
            self.reread(key, None)
            return True
        self._add_event(site, item)
        self._keep(key, device, live, level)
        outcomes[index] = Outcome()
        return True

    def _add_event(self, site: str, event: Event) -> None:
        self.taken.add(event.id)
        # Each its own strictly increasing receipt time: the store lists events in that order.
        at = max(self.now, self._last_received + TICK)
        self._last_received = at
        skew = (event.ts - at).total_seconds()
        self.rows.append(
            (
                event.id,
                site,
                event.device,
                event.seq,
                event.ts,
                at,
                event.kind,
                event.source,
                dict(event.data),
                None,
                round(skew, 3) if abs(skew) > CLOCK_SKEW_FLAG_S else None,
            )
        )

    def _alive(self, key: Key, live: Live) -> int:
        """`trouble.seen` on `live` if it only changes the row: SEEN when the device was
        online already, else ROW; UNCHANGED (nothing changed) when it is the ORM's job."""
        if key in self.offline:
            return UNCHANGED
        level = SEEN if live.online and live.stored and live.offline_since is None else ROW
        back = not live.online and (live.last_seen is not None or live.offline_since is not None)
        if back and not live.flap(self.now):
            return UNCHANGED
        live.offline_since = None
        live.last_seen = self.now
        live.online = True
        return level

    def _status(
        self,
        index: int,
        key: Key,
        device: Registered,
        status: Status,
        outcomes: list[Outcome | None],
    ) -> bool:
        live = self.states.get(key)
        if live is not None and _newer_recorded(live.last_status, status):
            outcomes[index] = Outcome()  # stale (rules/order.py): nothing changes
            return True
        live = live or Live(stored=False)
        if status.state == "online":
            if not self._alive(key, live):
                return False
        else:
            if live.online and not live.flap(self.now):
                return False
            live.online = False
            # Not yet trouble: supervision raises it if the device is not back within the grace.
            live.offline_since = live.offline_since or self.now
        if status.heartbeat_s is not None:
            live.heartbeat_s = status.heartbeat_s
        live.last_status = status.model_dump(mode="json")
        self._keep(key, device, live, ROW)
        outcomes[index] = Outcome()
        return True

    def _keep(self, key: Key, device: Registered, live: Live, level: int) -> None:
        live.changed = max(live.changed, level)
        self.states[key] = live
        self.due[key] = due_of(
            self.policy,
            device.household,
            device.heartbeat_s,
            live.online,
            live.heartbeat_s,
            live.last_seen,
            live.offline_since,
            self.watching_since,
        )

    def flush(self) -> None:
        """Write what this batch holds: its events (one INSERT) and device rows (executemany)."""
        session = self.session
        if self.rows:
            insert_tuples(session, EVENTS, EVENT_COLUMNS, self.rows)
            self.rows = []
        fresh: list[dict[str, object]] = []
        known: list[dict[str, object]] = []
        seen_at: dict[tuple[str, datetime | None], list[str]] = {}
        written: set[Key] = set()
        for (site, device), live in self.states.items():
            if not live.changed:
                continue
            written.add((site, device))
            if live.changed == SEEN:
                # Online already: only its last sign of life moves (one UPDATE for all).
                seen_at.setdefault((site, live.last_seen), []).append(device)
                live.changed = UNCHANGED
                continue
            if live.stored:
                values = {c: getattr(live, c) for c in self._names}
                known.append({"k_site": site, "k_device": device, **values})
            else:
                values = {c: getattr(live, c) for c in STATE_COLUMNS}
                fresh.append({"site": site, "device": device, **values})
            live.stored, live.changed = True, UNCHANGED
        if fresh:
            insert_rows(session, STATE, fresh)
        if known:
            session.execute(_update_state(self._statuses), known)
        for (site, at), devices in seen_at.items():
            ids = listed(devices, self._dialect)
            fast.run(
                session.connection(), _seen(self._dialect), {"k_site": site, "ids": ids, "at": at}
            )
        if written:
            # The ORM's copies of these rows (from an earlier ORM step) are out of date now.
            for obj in list(session.identity_map.values()):
                if isinstance(obj, DeviceStateRow) and (obj.site, obj.device) in written:
                    session.expire(obj)

    def reread(self, key: Key, event_id: str | None) -> None:
        """Read `key` again after the ORM rules changed it (and the event they stored)."""
        self.touched.add(key)
        self.due.pop(key, None)
        self.states.pop(key, None)
        self.offline.discard(key)
        self.now = max(self.now, self.clock())
        self._read_states(key[0], [key[1]])
        if event_id is not None and event_id not in self.known:
            row = self.session.get(EventRow, event_id)
            if row is not None:
                self.known[event_id] = (row.device, row.kind, row.alarm_id)


def _newer_recorded(last_status: dict[str, Any] | None, status: Status) -> bool:
    """`order.stale` on the recorded status: a newer one (by the device's clock) is stored."""
    last = None if last_status is None else last_status.get("ts")
    if not isinstance(last, str):
        return False
    try:
        return datetime.fromisoformat(last) > status.ts
    except ValueError:
        return False
