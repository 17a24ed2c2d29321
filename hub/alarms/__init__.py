"""Alarm engine: rules, lifecycle, deduplication, escalation, supervision (docs/architecture.md).

`Engine(store, policy)` (engine.py) implements `AlarmService` (service.py) and returns
`Outcome`s of `Action`s (actions.py) for the rest of the hub to carry out.

Modules: `lifecycle` (the one table (state, trigger) → (next state, effects) that
`Ledger.fire` consults), `ledger` (every lifecycle write), `plain` (test/activity events of a
group commit in bulk), `routing` (tiers → workers), `alerts` (bilingual
text), `replies` (ack/decline/arrived/resolve), `updates` (tell the others paged who took it),
`escalation` and `arrival` (timers), `rules/` (person, smoke, trouble, checkin, system: the
hub's own trouble such as broker drops).

`Outcome.rejected` codes: unknown_device, unknown_worker, unknown_alarm, not_on_alarm,
invalid_transition, alarm_closed, outcome_required, unknown_action; `on_system`: unknown_reason,
invalid_count.
`Outcome.duplicate`: an event id seen before, or a worker's reply resent after it took effect.
"""
