"""`Engine`: the `AlarmService` the hub feeds events, statuses, replies and clock ticks.

Each input runs as one store transaction in a worker thread, serialised by one lock, so the
event loop never waits on the database and two inputs never interleave. The transaction
commits before the method returns; the returned `Outcome` lists what the hub must do next.
`on_events` is the group commit: several events, each in its own savepoint, one transaction.
Every page and device command is written to the store's outbox in that same transaction
(`hub.alarms.outbox`), so a crash after the commit cannot lose it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import datetime
from typing import Literal, TypeVar

from sqlalchemy import bindparam, func, insert, select, tuple_
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from hub.alarms.actions import Action, Outcome
from hub.alarms.arrival import arrival_due
from hub.alarms.deadlines import JUDGE, JUDGE_STEP, SWEEP, Deadlines
from hub.alarms.escalation import escalate_due
from hub.alarms.ledger import Ledger
from hub.alarms.outbox import persist
from hub.alarms.plain import Bulk, Input
from hub.alarms.replies import Refused, apply, check, replayed
from hub.alarms.rules.checkin import check_windows
from hub.alarms.rules.order import ORDERED_KINDS, late_cancel, lock_device, stale
from hub.alarms.rules.person import CONFIRMED_KINDS, confirm_event, on_cancel, raise_or_repeat
from hub.alarms.rules.smoke import on_smoke, on_smoke_clear, verify_due
from hub.alarms.rules.system import raise_system
from hub.alarms.rules.trouble import TROUBLE_KINDS, on_status, raise_trouble, seen, supervise
from hub.policy import Policy
from hub.store import Store, fast
from hub.store.flush import write_by_core
from hub.store.reads import core_for
from hub.store.rosters import ROSTERS, Rosters
from hub.store.schema import AlarmRow, DeviceRow, DeviceStateRow, EventRow, WorkerRow
from protocol.messages import Event, ReplyAction, Status, WorkerReply, utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")
OVERSEERS = frozenset({"duty_officer", "supervisor"})
# Another hub process sharing the database (PostgreSQL) may win a race for the same active
# alarm; the loser's transaction fails on the unique index, and a retry sees the winner's row.
ATTEMPTS = 3
TIMER_STEP = 4
"""Due alarms each timer (smoke verification, escalation, arrival) fires in one transaction: an
escalation pages like an SOS (~6 ms of engine time on a fast machine, ~25 on a slow one)."""
TIMER_STEPS = 50
"""Transactions of due timers in one tick at most; the rest at the next tick, a second later."""
BY_CORE = (AlarmRow, DeviceStateRow)
"""Models whose rows a one-input step writes by Core at its end (hub/store/flush.py)."""
CLOCK_SKEW_FLAG_S = 300.0
"""A device clock off by more than this is flagged on its events (ordering uses receipt)."""

_KNOWN = select(EventRow.device, EventRow.kind, EventRow.alarm_id).where(
    EventRow.id == bindparam("id")
)
"""An event already stored under this id (a resend): what confirming it again needs."""
_ADD_EVENT = insert(EventRow)


class _Rehearsed(Exception):  # noqa: N818 - control flow, rolls the rehearsal back
    pass


class _Duplicate(Exception):  # noqa: N818 - control flow, rolls the transaction back
    def __init__(self, actions: list[Action] | None = None) -> None:
        super().__init__()
        self.actions = actions or []  # read-only effects, e.g. confirming a resent alarm


class Engine:
    """Alarm rules, lifecycle, deduplication and escalation on top of a `Store`."""

    def __init__(
        self,
        store: Store,
        policy: Policy,
        clock: Callable[[], datetime] = utcnow,
        *,
        sites: Collection[str] | None = None,
    ) -> None:
        """Bind to a migrated store; `clock` gives aware UTC now; `sites` served (None: all)."""
        self.store = store
        self.sites = frozenset(sites) if sites is not None else None
        self.policy = policy
        self.clock = clock
        self.started_at = clock()
        self._supervised_at: datetime | None = None
        self._deadlines = Deadlines()
        self._marks: set[tuple[str, str]] = set()
        self._due_next = False
        """A step of this tick judges devices due: a pass found them, or a step judged a full
        `JUDGE_STEP` (there may be more)."""
        self._timers_behind = False
        self._sweep_left = 0
        """Devices this pass's sweep has still to judge (0: none, or the sweep reached the end)."""
        self._committed: list[Callable[[], None]] = []
        self._aborted: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._rosters = Rosters()

    async def on_event(self, site: str, event: Event) -> Outcome:
        """Record an event (idempotent by `event.id`) and raise/update/cancel alarms."""
        return await asyncio.to_thread(self._step, lambda led: self._event(led, site, event))

    async def on_events(self, items: Sequence[tuple[str, Event]]) -> list[Outcome]:
        """Record (site, event) pairs in order in ONE transaction; all commit or none does."""
        return await self.on_inputs(items)

    async def on_inputs(self, items: Sequence[tuple[str, Event | Status]]) -> list[Outcome]:
        """Take (site, event or status) pairs in order in ONE transaction (group commit).

        Each gets the outcome its own `on_event`/`on_status` would give; all commit or none
        does. Plain events and statuses that only change their device's row are written in
        bulk (plain.py), the rest each in its own savepoint through the rules.
        """
        batch = list(items)
        return await asyncio.to_thread(self._retrying, lambda: self._attempt_inputs(batch))

    async def on_status(self, site: str, status: Status) -> Outcome:
        """Record a device's online/offline state (supervision input)."""
        return await asyncio.to_thread(self._step, lambda led: self._status(led, site, status))

    async def on_reply(self, site: str, worker: str, reply: WorkerReply) -> Outcome:
        """Apply a worker's ack/decline/arrived/resolve to an alarm."""
        return await asyncio.to_thread(
            self._step, lambda led: self._reply(led, site, worker, reply)
        )

    async def on_system(self, reason: str, count: int, detail: str = "") -> Outcome:
        """Raise or update the site-wide trouble alarm `reason` (e.g. broker_drops) per site."""
        note = detail or f"{reason}: {count}"

        def run(led: Ledger) -> None:
            raise_system(led, self.sites, reason, count, note)

        return await asyncio.to_thread(self._step, run)

    async def act(
        self,
        alarm_id: str,
        actor: str,
        action: ReplyAction,
        outcome: str | None = None,
        note: str = "",
    ) -> Outcome:
        """Apply an action from the HTTP API (same lifecycle rules as `on_reply`)."""

        def run(led: Ledger) -> None:
            alarm = led.alarm(alarm_id)
            if alarm is None:
                raise Refused("unknown_alarm")
            if replayed(led, alarm, actor, action):
                raise _Duplicate
            check(alarm, action, outcome)
            apply(led, alarm, actor, action, outcome, note, channel="api")

        return await asyncio.to_thread(self._step, run)

    async def tick(self, now: datetime) -> Outcome:
        """Fire due timers: smoke verification, escalation, arrival, supervision, inactivity.

        In several transactions, so that an SOS waiting for the engine goes between two of
        them (docs/hub.md): due timers `TIMER_STEP` alarms at a time (up to `TIMER_STEPS`
        transactions a tick), the supervision pass, its sweep, and the devices due
        `JUDGE_STEP` at a time (`JUDGE` a tick at most).
        """
        outcome = Outcome()

        async def step(work: Callable[[Ledger], None]) -> None:
            done = await asyncio.to_thread(self._step, work, now)
            outcome.actions.extend(done.actions)

        await step(self._tick)  # if this fails, nothing was committed: the tick fails
        try:
            for _ in range(TIMER_STEPS - 1):
                if not self._timers_behind:
                    break
                await step(self._fire_timers)
            for _ in range(-(-SWEEP // JUDGE_STEP)):
                if self._sweep_left <= 0:
                    break
                await step(self._sweep)
            for _ in range(JUDGE // JUDGE_STEP):
                if not self._due_next:
                    break
                await step(self._judge_due)
        except Exception:
            # What the earlier steps committed (pages, commands) is returned all the same:
            # the caller sends it now, not when the outbox is swept again.
            log.exception("engine tick: a step failed; the rest at the next tick")
        return outcome

    async def rehearse(self) -> float | None:
        """Run an SOS's whole path once and roll it back; return its seconds (None: no home).

        The first SOS after a start otherwise pays for compiling its ~18 statements and the
        ORM's first loads (~50 ms more here, 200 ms at worst: docs/bench.md). Nothing is kept:
        one transaction, rolled back, no action returned, the supervision index untouched.
        """
        return await asyncio.to_thread(self._rehearse)

    def _rehearse(self) -> float | None:
        started = time.perf_counter()
        with self._lock:
            marks, self._marks = self._marks, set()
            try:
                with self._session() as session:
                    self._rehearse_in(session)  # raises _Rehearsed once done: rolled back
                return None  # no home registered: nothing to rehearse
            except _Rehearsed:
                pass
            except Exception:  # a warm-up must never stop the hub
                log.exception("rehearsing the SOS path failed; the first SOS will be slower")
                return None
            finally:
                self._marks = marks
        return time.perf_counter() - started

    def _rehearse_in(self, session: Session) -> None:
        query = select(DeviceRow).where(DeviceRow.household.is_not(None))
        if self.sites is not None:
            query = query.where(DeviceRow.site.in_(sorted(self.sites)))
        device = session.scalars(query.order_by(DeviceRow.site, DeviceRow.id).limit(1)).first()
        if device is None:
            return
        ledger = Ledger(session, self.policy, self.clock())

        def event(kind: Literal["call", "cancel"], seq: int) -> Event:
            return Event(id=str(uuid.uuid4()), device=device.id, seq=seq, ts=ledger.now,
                         kind=kind, source="rehearsal")  # fmt: skip

        self._event(ledger, device.site, event("call", 0))
        alarm = ledger.active(device.site, device.id, "call")
        paged = ledger.recipients(alarm) if alarm is not None else []
        if alarm is not None and paged:  # a worker's ack, as from the app
            with contextlib.suppress(Refused):  # e.g. a real alarm of that home, already acked
                check(alarm, "ack", None)
                apply(ledger, alarm, paged[0].id, "ack", None, "", channel="api")
        self._event(ledger, device.site, event("cancel", 1))
        persist(session, ledger.now, ledger.actions)
        session.flush()
        raise _Rehearsed

    @contextlib.contextmanager
    def _session(self) -> Iterator[Session]:
        """A write transaction whose rules page from the rosters kept in memory (rosters.py)."""
        with self.store.session(write=True) as session:
            session.info[ROSTERS] = self._rosters
            yield session

    def _step(self, work: Callable[[Ledger], None], now: datetime | None = None) -> Outcome:
        return self._retrying(lambda: self._attempt(work, now))

    def _retrying(self, attempt_once: Callable[[], T]) -> T:
        with self._lock:
            for attempt in range(1, ATTEMPTS + 1):
                self._committed, self._aborted = [], []
                try:
                    result = attempt_once()
                except (IntegrityError, OperationalError) as exc:
                    self._settle(self._aborted)
                    if attempt == ATTEMPTS:
                        raise
                    log.warning("store conflict (attempt %d), retrying: %s", attempt, exc)
                except BaseException:
                    self._settle(self._aborted)
                    raise
                else:
                    self._settle(self._committed)
                    return result
        raise AssertionError("unreachable")

    def _settle(self, hooks: list[Callable[[], None]]) -> None:
        """Update the supervision index once the transaction is over (deadlines.py)."""
        # Devices the rules changed are judged at the next supervision, committed or not
        # (a look too many is harmless; a look missed is not).
        self._deadlines.touch(self._marks)
        self._marks = set()
        for hook in hooks:
            hook()

    def _attempt(self, work: Callable[[Ledger], None], now: datetime | None) -> Outcome:
        try:
            with self._session() as session:
                ledger = Ledger(session, self.policy, now or self.clock())
                work(ledger)
                # Pages and commands are committed with the change that caused them (outbox).
                ledger.actions = persist(session, ledger.now, ledger.actions)
                # The step's alarm and liveness rows by Core (flush.py); the rest, if any,
                # by the ORM's flush.
                write_by_core(session, BY_CORE)
                session.flush()
        except Refused as exc:
            log.info("input refused: %s", exc.reason)
            return Outcome(rejected=exc.reason)
        except _Duplicate as dup:
            return Outcome(duplicate=True, actions=dup.actions)
        return Outcome(actions=ledger.actions)

    def _attempt_inputs(self, items: Sequence[tuple[str, Input]]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(items)
        with self._session() as session:
            # Reads (and locks, sorted) every device of the batch first (plain.py).
            bulk = Bulk(
                Ledger(session, self.policy, self.clock()), self.clock, self.started_at, items
            )
            for index, (site, item) in enumerate(items):
                if bulk.take(index, site, item, outcomes):
                    continue
                # The ORM rules see the store as the inputs before this one left it.
                bulk.flush()
                outcomes[index] = self._one_of_batch(session, site, item)
                bulk.reread((site, item.device), item.id if isinstance(item, Event) else None)
            bulk.flush()
            session.flush()
        self._deadlines.update(bulk.due)
        self._marks |= bulk.touched
        assert all(o is not None for o in outcomes)
        return outcomes  # type: ignore[return-value]

    def _one_of_batch(self, session: Session, site: str, item: Input) -> Outcome:
        # A savepoint per input: a refused or duplicate event (also one repeated within
        # this batch) undoes only its own changes, exactly as its own transaction would.
        ledger = Ledger(session, self.policy, self.clock())
        try:
            with session.begin_nested():
                if isinstance(item, Event):
                    self._event(ledger, site, item)
                else:
                    self._status(ledger, site, item)
                ledger.actions = persist(session, ledger.now, ledger.actions)
        except Refused as exc:
            log.info("input refused: %s", exc.reason)
            return Outcome(rejected=exc.reason)
        except _Duplicate as dup:
            return Outcome(duplicate=True, actions=dup.actions)
        return Outcome(actions=ledger.actions)

    def _fire_timers(self, ledger: Ledger) -> None:
        fired = (
            verify_due(ledger, TIMER_STEP),
            escalate_due(ledger, TIMER_STEP),
            arrival_due(ledger, TIMER_STEP),
        )
        self._timers_behind = max(fired) >= TIMER_STEP

    def _tick(self, ledger: Ledger) -> None:
        self._fire_timers(ledger)
        self._sweep_left = 0
        last = self._supervised_at
        every = self.policy.supervision_interval_s
        if last is None or (ledger.now - last).total_seconds() >= every or ledger.now < last:
            self._supervise(ledger)
            check_windows(ledger)
            self._supervised_at = ledger.now
        # Devices due are judged in the next steps of this tick (`tick`); more than a tick
        # judges (JUDGE): the rest at the next tick, a second later, not at the next pass.

    def _supervise(self, ledger: Ledger) -> None:
        """Judge the devices whose supervision instant passed (all of them at a rebuild)."""
        index = self._deadlines
        devices = ledger.session.scalar(select(func.count()).select_from(DeviceRow)) or 0
        now = ledger.now
        if index.stale(devices, now):
            everyone = supervise(ledger, self.started_at)
            self._committed.append(lambda: index.rebuild(everyone, devices, now))
            return
        self._due_next = True  # judge the devices due (`_judge_due`, the next steps)
        self._sweep_left = SWEEP

    def _sweep(self, ledger: Ledger) -> None:
        """Judge the next devices of this pass's sweep in (site, id) order, due or not
        (deadlines.py): `SWEEP` a pass, `JUDGE_STEP` a transaction."""
        index = self._deadlines
        cursor = index.cursor
        size = min(self._sweep_left, JUDGE_STEP)
        sweep_query = select(DeviceRow.site, DeviceRow.id)
        if cursor is not None:
            sweep_query = sweep_query.where(tuple_(DeviceRow.site, DeviceRow.id) > cursor)
        sweep: list[tuple[str, str]] = [
            (site, device)
            for site, device in ledger.session.execute(
                sweep_query.order_by(DeviceRow.site, DeviceRow.id).limit(size)
            )
        ]
        full = len(sweep) == size
        after = sweep[-1] if sweep and full else None
        judged = supervise(ledger, self.started_at, sweep)

        def done() -> None:
            index.update(judged)
            index.cursor = after
            self._sweep_left = self._sweep_left - size if full else 0

        self._committed.append(done)
        self._aborted.append(lambda: setattr(self, "_sweep_left", 0))

    def _judge_due(self, ledger: Ledger) -> None:
        """Judge the next `JUDGE_STEP` devices due (a supervision pass that had more)."""
        index = self._deadlines
        keys = index.take_due(ledger.now, JUDGE_STEP)
        self._due_next = len(keys) >= JUDGE_STEP
        judged = supervise(ledger, self.started_at, keys)
        self._committed.append(lambda: index.update(judged))
        self._aborted.append(lambda: index.touch(keys))

    def _event(self, ledger: Ledger, site: str, event: Event) -> None:
        # Several hubs: one device's alarm events are decided one at a time (rules/order.py).
        ordered = event.kind in ORDERED_KINDS
        device = (
            lock_device(ledger, site, event.device)
            if ordered
            else ledger.device(site, event.device)
        )
        if device is None:
            raise Refused("unknown_device")
        self._marks.add((site, event.device))
        # A Core read: most events are new, and the ORM's part of a lookup costs ~0.2 ms.
        known = fast.first(core_for(ledger.session, EventRow), _KNOWN, {"id": event.id})
        if known is not None:
            # A device resends an alarm the hub has not confirmed to it: confirm it again.
            raise _Duplicate(confirm_event(ledger, *known))
        skew = (event.ts - ledger.now).total_seconds()
        seen(ledger, device)
        alarm: AlarmRow | None = None
        if event.kind in ("call", "fall", "inactivity"):
            alarm = raise_or_repeat(ledger, device, event.kind, event)
            if ordered and alarm.state in ("raised", "notified"):
                late_cancel(ledger, device, event, alarm)
        elif event.kind == "cancel":
            cancelled = on_cancel(ledger, device, event)
            alarm = cancelled[0] if cancelled else None
        elif event.kind == "smoke":
            alarm = on_smoke(ledger, device, event)
        elif event.kind == "smoke_clear":
            alarm = on_smoke_clear(ledger, device, event)
        elif event.kind in TROUBLE_KINDS:
            alarm = raise_trouble(ledger, device, event.kind, event)
        alarm_id = alarm.id if alarm is not None else None
        # Stored with its alarm id (which is in the store by now: a raised alarm is INSERTed
        # when added): one INSERT, no UPDATE, in Core (nothing reads it back as an object).
        # The same id taken by another hub meanwhile fails it on the primary key; the retry
        # (`_retrying`) then finds it stored: a duplicate, confirmed as such.
        fast.run(
            ledger.session.connection(),
            _ADD_EVENT,
            {
                "clock_skew_s": round(skew, 3) if abs(skew) > CLOCK_SKEW_FLAG_S else None,
                "id": event.id,
                "site": site,
                "device": event.device,
                "seq": event.seq,
                "ts": event.ts,
                "received_at": ledger.now,
                "kind": event.kind,
                "source": event.source,
                "data": dict(event.data),
                "alarm_id": alarm_id,
            },
        )
        if event.kind in CONFIRMED_KINDS:
            confirm_event(ledger, event.device, event.kind, alarm_id)

    def _status(self, ledger: Ledger, site: str, status: Status) -> None:
        device = lock_device(ledger, site, status.device)
        if device is None:
            raise Refused("unknown_device")
        self._marks.add((site, status.device))
        if stale(ledger, device, status):
            return  # an older status a peer hub took later than the newer one (rules/order.py)
        on_status(ledger, device, status)

    def _reply(self, ledger: Ledger, site: str, worker: str, reply: WorkerReply) -> None:
        who = ledger.session.get(WorkerRow, (site, worker))
        if who is None:
            raise Refused("unknown_worker")
        alarm = ledger.alarm(reply.alarm)
        if alarm is None or alarm.site != site:
            raise Refused("unknown_alarm")
        if not ledger.is_recipient(alarm, worker) and who.role not in OVERSEERS:
            raise Refused("not_on_alarm")
        if replayed(ledger, alarm, worker, reply.action):
            raise _Duplicate
        check(alarm, reply.action, reply.outcome)
        apply(ledger, alarm, worker, reply.action, reply.outcome, reply.note)
