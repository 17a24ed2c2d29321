"""Alarm engine: rules, lifecycle, deduplication, escalation, supervision (see ARCHITECTURE.md).

`Engine(store, policy)` implements `AlarmService` (service.py) and returns `Outcome`s of
`Action`s (actions.py) for the rest of the hub to carry out.
"""
