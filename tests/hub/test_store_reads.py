"""Core reads in an ORM transaction (hub/store/reads.py): they see every pending change that
can matter to them, and leave the others pending (no flush the read does not need)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.alarms.ledger import Ledger
from hub.policy import Policy
from hub.store import Store
from hub.store.schema import AlarmRow, DeviceStateRow
from hub.store.suspect import false_alarms

SITE = "sunflower"
HOME = "home-b1-101"
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def _alarm(aid: str, active: bool, outcome: str | None = None) -> AlarmRow:
    return AlarmRow(
        id=aid, site=SITE, device=HOME, cls="call", state="raised", reason="call",
        active=active, raised_at=NOW, updated_at=NOW, tier=0, repeats=0, event_ids=[],
        outcome=outcome,
    )  # fmt: skip


def test_an_alarm_added_and_not_yet_flushed_is_found_active(store: Store) -> None:
    with store.session(write=True) as s:
        ledger = Ledger(s, Policy(), NOW)
        assert ledger.active(SITE, HOME, "call") is None
        s.add(_alarm("a-pending", active=True))  # pending: the ORM has not sent it
        found = ledger.active(SITE, HOME, "call")
        assert found is not None and found.id == "a-pending"
        assert ledger.active(SITE, HOME, "fall") is None


def test_a_pending_close_is_seen_before_the_read(store: Store) -> None:
    with store.session(write=True) as s:
        s.add(_alarm("a-open", active=True))
    with store.session(write=True) as s:
        ledger = Ledger(s, Policy(), NOW)
        alarm = ledger.active(SITE, HOME, "call")
        assert alarm is not None
        alarm.active = False  # dirty, not flushed
        assert ledger.active(SITE, HOME, "call") is None


def test_false_alarms_count_pending_ones_and_leave_other_changes_pending(store: Store) -> None:
    with store.session(write=True) as s:
        s.add(_alarm("a-old", active=False, outcome="false_alarm"))
        s.add(DeviceStateRow(site=SITE, device=HOME, online=True, last_seen=NOW))
    with store.session(write=True) as s:
        state = s.get(DeviceStateRow, (SITE, HOME))
        assert state is not None
        state.last_seen = NOW + timedelta(seconds=30)  # pending, and no alarm read needs it
        assert false_alarms(s, SITE, HOME, NOW) == 1
        assert state in s.dirty  # not flushed for a read of the alarms
        closing = _alarm("a-closing", active=False)
        s.add(closing)
        assert false_alarms(s, SITE, HOME, NOW) == 1  # a new alarm, not a false one
        closing.outcome = "false_alarm"
        assert false_alarms(s, SITE, HOME, NOW) == 2  # pending, counted
        assert state not in s.dirty  # that flush sent everything
