"""`Ledger`: one engine step's view of the store; every lifecycle change goes through it.

It writes alarm rows, transitions and recipients in the caller's transaction and collects
the `Action`s the hub must carry out once that transaction has committed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session, make_transient_to_detached

from hub.alarms.actions import Action, Notify, SendCommand, Transition
from hub.alarms.alerts import (
    Headline,
    actor_names,
    build_alert,
    minimal_alert,
    system_alert,
    update_headline,
)
from hub.alarms.lifecycle import Effect, State, Step, Trigger, allows, decide
from hub.alarms.routing import tier_workers
from hub.policy import Policy
from hub.store import fast
from hub.store.reads import core_for
from hub.store.residents import context_rows, resident_context
from hub.store.schema import (
    AlarmRow,
    DeliveryRow,
    DeviceRow,
    RecipientRow,
    SiteRow,
    TransitionRow,
    WorkerRow,
)
from hub.store.suspect import false_alarms
from protocol.messages import Event, IndicateCmd, IndicateState, SirenCmd, WorkerAlert

log = logging.getLogger(__name__)
MQTT_ONLY: tuple[str, ...] = ("mqtt",)
"""Updates go over MQTT only (the app replaces the alert it shows); pages go everywhere."""
MAX_EVENT_IDS = 100


def new_alarm_id(now: datetime) -> str:
    """Return a new alarm id that sorts by time (ms timestamp + random)."""
    return f"{int(now.timestamp() * 1000):012x}{uuid.uuid4().hex[:12]}"


_ACTIVE = (
    select(AlarmRow.id)
    .where(
        AlarmRow.site == bindparam("site"),
        AlarmRow.device == bindparam("device"),
        AlarmRow.cls == bindparam("cls"),
        AlarmRow.active,
    )
    # Row lock (PostgreSQL): a second hub updating the same alarm waits, then sees ours.
    .with_for_update()
)
"""Built once: every alarm input asks it (building a statement costs ~0.2 ms here)."""
_ADD_TRANSITION = insert(TransitionRow)
_ADD_ALARM = insert(AlarmRow)
_ALARM_DEFAULTS: dict[str, Any] = {
    c.key: c.default.arg if c.default is not None and c.default.is_scalar else None
    for c in AlarmRow.__table__.columns
}
"""Every column of a new alarm: the model's scalar defaults, None elsewhere (`_new_alarm` sets
the rest), so the INSERT has no Python-side default for SQLAlchemy to compute."""
_ADD_RECIPIENT = insert(RecipientRow).values(
    alarm_id=bindparam("alarm_id"),
    worker=bindparam("worker"),
    tier=bindparam("tier"),
    notified_at=bindparam("at"),
)


class Ledger:
    """Lifecycle operations bound to one session, one instant and one policy."""

    def __init__(self, session: Session, policy: Policy, now: datetime) -> None:
        """Bind to `session`; `now` is the instant every change of this step is stamped with."""
        self.session = session
        self.policy = policy
        self.now = now
        self.actions: list[Action] = []
        self._fresh: dict[str, set[str]] = {}
        """Alarms raised by this ledger: the recipients it added (no others can exist)."""

    def alarm(self, alarm_id: str) -> AlarmRow | None:
        """Return an alarm, locked for update, or None."""
        return self.session.get(AlarmRow, alarm_id, with_for_update=True)

    def device(self, site: str, device: str) -> DeviceRow | None:
        """Return a registered device, or None."""
        return self.session.get(DeviceRow, (site, device))

    def active(self, site: str, device: str, cls: str) -> AlarmRow | None:
        """Return the active alarm of `cls` for a device, if there is one."""
        # A Core read of its id (an SOS usually finds none), flushing only pending alarms
        # (not the liveness row `seen` has just changed); the row, if any, through the ORM.
        params = {"site": site, "device": device, "cls": cls}
        found = fast.scalar(core_for(self.session, AlarmRow), _ACTIVE, params)
        return None if found is None else self.session.get(AlarmRow, found)

    def due(self, timer: Any, *where: Any, limit: int | None = None) -> list[AlarmRow]:
        """Return the active alarms whose `timer` column (an `AlarmRow` timestamp) has come,
        matching `where`, the `limit` earliest (None: all). Row-locked, skipping rows another
        hub has locked: with several hubs on one PostgreSQL, each fires a due timer once."""
        return list(
            self.session.scalars(
                select(AlarmRow)
                .where(AlarmRow.active, *where, timer.is_not(None), timer <= self.now)
                .order_by(timer)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )

    def active_system(self, site: str, cls: str, reason: str) -> AlarmRow | None:
        """Return the active site-wide alarm (no device) of `cls` and `reason`, if any."""
        return self.session.scalars(
            select(AlarmRow)
            .where(
                AlarmRow.site == site,
                AlarmRow.device.is_(None),
                AlarmRow.cls == cls,
                AlarmRow.reason == reason,
                AlarmRow.active,
            )
            .with_for_update()
        ).first()

    def raise_system(self, site: str, cls: str, reason: str, count: int, note: str) -> AlarmRow:
        """Create a site-wide alarm of the system itself (no device, no grid) in `raised`."""
        return self._new_alarm(note, site=site, cls=cls, reason=reason, count=count, event_ids=[])

    def raise_alarm(
        self, device: DeviceRow, cls: str, reason: str, event: Event | None, note: str = ""
    ) -> AlarmRow:
        """Create an alarm in state `raised` for `device`."""
        return self._new_alarm(
            note,
            site=device.site,
            grid=device.grid,
            building=device.building,
            household=device.household,
            device=device.id,
            resident=device.resident,
            cls=cls,
            reason=reason,
            last_event=event.id if event else None,
            event_ids=[event.id] if event else [],
        )

    def _new_alarm(self, note: str, **fields: Any) -> AlarmRow:
        """Add an alarm in state `raised` now, with its first history entry."""
        values = _ALARM_DEFAULTS | {
            "id": new_alarm_id(self.now),
            "state": "raised",
            "active": True,
            "raised_at": self.now,
            "updated_at": self.now,
            "event_ids": [],
            **fields,
        }
        # Written by Core, then given to the session as a loaded row: the ORM's flush of one
        # new object (its unit of work) cost an SOS ~0.7 ms here (pyinstrument, 2026-12-03).
        fast.run(self.session.connection(), _ADD_ALARM, values)
        alarm = AlarmRow(**values)
        make_transient_to_detached(alarm)
        self.session.add(alarm)
        self._fresh[alarm.id] = set()
        self.record(alarm, None, "raised", "system", note)
        return alarm

    def repeat(self, alarm: AlarmRow, event: Event) -> None:
        """Count a repeat of an active alarm without paging again."""
        alarm.repeats += 1
        alarm.last_event = event.id
        alarm.event_ids = [*alarm.event_ids, event.id][-MAX_EVENT_IDS:]
        alarm.updated_at = self.now

    def record(
        self,
        alarm: AlarmRow,
        from_state: str | None,
        to_state: str,
        by: str,
        note: str = "",
        outcome: str | None = None,
    ) -> None:
        """Store a transition row and, when the state changed, emit a `Transition` action."""
        # Written now in Core (the alarm row is in the store: a raised alarm is INSERTed when
        # added), not left to the ORM's flush: nothing reads a transition back as an object.
        fast.run(
            self.session.connection(),
            _ADD_TRANSITION,
            {
                "alarm_id": alarm.id,
                "cls": alarm.cls,
                "from_state": from_state,
                "to_state": to_state,
                "ts": self.now,
                "by": by,
                "note": note,
            },
        )
        alarm.state = to_state
        alarm.updated_at = self.now
        if from_state == to_state:
            return
        count = None
        if outcome == "false_alarm" and alarm.device is not None:
            # Counts this one too: `false_alarms` flushes a pending close as a false alarm.
            count = false_alarms(self.session, alarm.site, alarm.device, self.now)
        self.actions.append(
            Transition(
                alarm_id=alarm.id,
                site=alarm.site,
                grid=alarm.grid,
                cls=alarm.cls,  # type: ignore[arg-type]
                state=to_state,  # type: ignore[arg-type]
                ts=self.now,
                raised_at=alarm.raised_at,
                by=by,
                outcome=outcome,
                device=alarm.device,
                false_alarms_30d=count,
            )
        )

    def note(self, alarm: AlarmRow, by: str, note: str) -> None:
        """Add a note to an alarm's history without changing its state."""
        self.record(alarm, alarm.state, alarm.state, by, note)

    def fire(
        self,
        alarm: AlarmRow,
        trigger: Trigger,
        by: str,
        note: str = "",
        outcome: str | None = None,
        *,
        channel: str = "reply",
        worker: WorkerRow | None = None,
    ) -> Step:
        """Apply `trigger` to `alarm` as the lifecycle table says, or raise `Refused`.

        The row's effects run in their order (hub/alarms/lifecycle.py); `channel` is where an
        acknowledgement came from, `worker` whom a `reassign` pages.
        """
        before: State = alarm.state  # type: ignore[assignment]
        step = decide(before, trigger)
        for effect in step.effects:
            self._effect(effect, alarm, before, step.next, by, note, outcome, channel, worker)
        return step

    def _effect(
        self,
        effect: Effect,
        alarm: AlarmRow,
        before: State,
        after: State,
        by: str,
        note: str,
        outcome: str | None,
        channel: str,
        worker: WorkerRow | None,
    ) -> None:
        if effect is Effect.STOP_ESCALATION:
            alarm.next_escalation_at = None
        elif effect is Effect.ARM_ARRIVAL:
            timeout = self.policy.arrival_timeout(alarm.cls)
            due = None if timeout is None else self.now + timedelta(seconds=timeout)
            alarm.arrival_due_at = due
        elif effect is Effect.STOP_ARRIVAL:
            alarm.arrival_due_at = None
        elif effect is Effect.CLOSE:
            alarm.active = False
            alarm.next_escalation_at = None
            alarm.verify_at = None
            alarm.arrival_due_at = None
            alarm.outcome = outcome
        elif effect is Effect.BECOME_FIRE:
            alarm.cls = "fire"
            alarm.verify_at = None
            alarm.arrival_due_at = None
            alarm.tier = 0
        elif effect is Effect.HISTORY:
            self.record(alarm, before, after, by, note, outcome)
        elif effect is Effect.DELIVERY_ACKED:
            self.session.add(
                DeliveryRow(
                    alarm_id=alarm.id,
                    worker=by,
                    channel=channel,
                    tier=alarm.tier,
                    status="acked",
                    ts=self.now,
                    detail=note,
                )
            )
        elif effect is Effect.INDICATE:
            self.indicate(alarm, after)  # type: ignore[arg-type]
        elif effect is Effect.SIRENS_ON:
            self.sirens(alarm, on=True)
        elif effect is Effect.SIRENS_OFF_IF_FIRE:
            if alarm.cls == "fire":
                self.sirens(alarm, on=False)
        elif effect is Effect.TELL_OTHERS:
            self.tell_others(alarm, by, outcome)
        elif effect is Effect.PAGE_TIER0:
            self.page(alarm, 0)
        elif effect is Effect.ESCALATE:
            self.escalate(alarm, by, note)
        elif effect is Effect.ALERT_OVERSEERS:
            from hub.alarms.arrival import overdue

            overdue(self, alarm)
        elif effect is Effect.PAGE_WORKER:
            assert worker is not None
            self.notify(alarm, [worker], "notified" if alarm.state == "raised" else alarm.state)
            self.add_recipients(alarm, [worker], alarm.tier)
            self.note(alarm, by, f"reassigned to {worker.id}{': ' + note if note else ''}")

    def tell_others(self, alarm: AlarmRow, actor: str, outcome: str | None = None) -> None:
        """Send the alarm's new state, and who brought it there, to every other worker paged."""
        others = [w for w in self.recipients(alarm) if w.id != actor]
        if not others:
            return
        names = actor_names(actor, self.session.get(WorkerRow, (alarm.site, actor)))
        headline = update_headline(alarm.state, names, outcome)
        self.notify(alarm, others, alarm.state, headline=headline, channels=MQTT_ONLY)

    def page(self, alarm: AlarmRow, tier: int) -> list[WorkerRow]:
        """Notify the workers of `tier` (or the next tier that has anyone) and arm escalation."""
        escalation = self.policy.escalation_for(alarm.cls, alarm.reason)
        with self.session.no_autoflush:  # registry reads: nothing pending can change them
            tier, workers = tier_workers(self.session, alarm, escalation, tier, self.now)
        if not workers:
            log.warning("alarm %s (%s): nobody on duty to page; retrying", alarm.id, alarm.cls)
        alarm.tier = tier
        alarm.next_escalation_at = self.now + timedelta(seconds=escalation.timeout(tier))
        if workers and allows(alarm.state, "paged"):
            self.fire(alarm, "paged", "system", f"tier {tier}")
        self.notify(alarm, workers, "notified" if alarm.state == "notified" else alarm.state)
        self.add_recipients(alarm, workers, tier)
        return workers

    def add_recipients(self, alarm: AlarmRow, workers: Iterable[WorkerRow], tier: int) -> None:
        """Remember that `workers` were told about `alarm` now (they may answer it)."""
        fresh = self._fresh.get(alarm.id)
        for worker in workers:
            if fresh is not None and worker.id not in fresh:
                row = None  # an alarm raised in this step has only the recipients it added
                fresh.add(worker.id)
            else:
                row = self.session.get(RecipientRow, (alarm.id, worker.id))
            if row is None:
                fast.run(  # Core, as `record`
                    self.session.connection(),
                    _ADD_RECIPIENT,
                    {"alarm_id": alarm.id, "worker": worker.id, "tier": tier, "at": self.now},
                )
            else:
                row.notified_at = self.now

    def escalate(self, alarm: AlarmRow, by: str, why: str) -> list[WorkerRow]:
        """Page the next tier now and note why and whom."""
        workers = self.page(alarm, alarm.tier + 1)
        who = ", ".join(w.id for w in workers) or "nobody on duty"
        self.note(alarm, by, f"{why}; tier {alarm.tier}: {who}")
        return workers

    def notify(
        self,
        alarm: AlarmRow,
        workers: Iterable[WorkerRow],
        state: str,
        headline: Headline | None = None,
        channels: tuple[str, ...] | None = None,
    ) -> None:
        """Emit a `Notify` with the alarm's current alert to each worker.

        `channels` None: MQTT and every channel the worker has (a page); else exactly those.
        """
        workers = list(workers)
        if not workers:
            return
        alert = self.alert(alarm, state, headline)
        for w in workers:
            self.actions.append(
                Notify(
                    alarm_id=alarm.id,
                    site=alarm.site,
                    worker=w.id,
                    tier=alarm.tier,
                    alert=alert,
                    channels=("mqtt", *w.notify) if channels is None else channels,
                )
            )

    def alert(self, alarm: AlarmRow, state: str, headline: Headline | None) -> WorkerAlert:
        """Build the alert of `alarm` in `state`; a minimal one if registry data is bad."""
        if alarm.device is None:
            site = self.session.get(SiteRow, alarm.site)
            return system_alert(alarm, site, state, self.now, headline)  # type: ignore[arg-type]
        device = self.session.get(DeviceRow, (alarm.site, alarm.device))
        assert device is not None
        with self.session.no_autoflush:  # registry rows: nothing pending changes them
            rows = context_rows(self.session, device)
        household = rows[1] if device.household else None
        try:
            ctx = resident_context(self.session, device, rows)
            falses = false_alarms(self.session, alarm.site, device.id, self.now)
            shown: Any = state
            return build_alert(alarm, device, household, ctx, shown, self.now, headline, falses)
        except ValueError:
            # Bad registry data must never stop a page: send what is certain.
            log.exception("alarm %s: cannot build the full alert; paging a minimal one", alarm.id)
            return minimal_alert(alarm, state, self.now, headline)  # type: ignore[arg-type]

    def recipients(self, alarm: AlarmRow) -> list[WorkerRow]:
        """Return every worker already paged for `alarm`."""
        return list(
            self.session.scalars(
                select(WorkerRow)
                .join(RecipientRow, RecipientRow.worker == WorkerRow.id)
                .where(RecipientRow.alarm_id == alarm.id, WorkerRow.site == alarm.site)
                .order_by(WorkerRow.id)
            )
        )

    def is_recipient(self, alarm: AlarmRow, worker: str) -> bool:
        """Return True if `worker` was paged for `alarm`."""
        return self.session.get(RecipientRow, (alarm.id, worker)) is not None

    def indicate(self, alarm: AlarmRow, state: IndicateState) -> None:
        """Tell the alarm's origin device what is happening (LED/buzzer pattern)."""
        if alarm.device is None:
            return
        cmd = IndicateCmd(ts=self.now, state=state, alarm=alarm.id)
        self.actions.append(SendCommand(site=alarm.site, device=alarm.device, command=cmd))

    def sirens(self, alarm: AlarmRow, on: bool) -> None:
        """Switch every siren of the alarm's building on or off."""
        devices = self.session.scalars(
            select(DeviceRow)
            .where(
                DeviceRow.site == alarm.site,
                DeviceRow.building == alarm.building,
                DeviceRow.has_siren.is_(True),
            )
            .order_by(DeviceRow.id)
        )
        for d in devices:
            cmd = SirenCmd(ts=self.now, on=on, alarm=alarm.id)
            self.actions.append(SendCommand(site=alarm.site, device=d.id, command=cmd))
