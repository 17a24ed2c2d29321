"""No read of the alarm engine scans the whole alarms table (SQLite's query plans).

The table keeps every alarm a community ever had; a read that scans it costs more every month
(one SOS cost 13 ms of CPU instead of 6 with 20,000 closed alarms, and the engine's tick
scanned it every second for smoke alarms due for verification, holding up any SOS meanwhile).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from protocol.messages import Status

SITE = "sunflower"
HOME = "home-b1-101"  # grid-1: w-zhang-wei
FLAT = "home-b1-302"  # a smoke relay in building b1
STAIR = "stair-b1"  # smoke relay and siren of building b1


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_no_engine_step_scans_every_alarm(engine, events, clock, store) -> None:
    scans: list[tuple[str, str]] = []

    def explain(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        if many or not sql.lstrip().upper().startswith(("SELECT", "UPDATE")):
            return
        plan = cursor.connection.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
        details = " | ".join(str(row[-1]) for row in plan)
        if "SCAN alarms" in details:
            scans.append((" ".join(sql.split())[-200:], details))

    event.listen(store.engine, "before_cursor_execute", explain)
    try:
        await engine.on_inputs(
            [(SITE, Status(device=d, ts=clock(), state="online")) for d in (HOME, FLAT, STAIR)]
        )
        await engine.on_event(SITE, events(HOME, "call"))
        await engine.on_event(SITE, events(HOME, "call"))  # pressed again
        await engine.on_events([(SITE, events(HOME, "test")), (SITE, events(FLAT, "activity"))])
        (call,) = (a for a in store.list_alarms(site=SITE, active_only=True) if a.cls == "call")
        await engine.act(call.id, "w-zhang-wei", "ack")
        await engine.on_event(SITE, events(HOME, "cancel"))  # after the ack: a note
        await engine.on_event(SITE, events(FLAT, "smoke", analog=True))
        await engine.on_event(SITE, events(STAIR, "smoke"))
        for seconds in (1, engine.policy.smoke_verify_s, 600, 3600):
            await engine.tick(clock.advance(seconds))
        await engine.act(call.id, "w-zhang-wei", "arrived")
        await engine.act(call.id, "w-zhang-wei", "resolve", outcome="false_alarm")
        await engine.on_event(SITE, events(HOME, "fall"))
        await engine.on_event(SITE, events(HOME, "cancel"))  # within the window: cancelled
    finally:
        event.remove(store.engine, "before_cursor_execute", explain)
    assert not scans, "\n".join(f"{sql}\n  -> {plan}" for sql, plan in scans)
