"""`watchpost demo` end to end: real Mosquitto, influxd, the hub process, agents and workers."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path

import pytest

from simulators.demo import DemoOptions, main

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]


def test_demo_raises_dispatches_and_resolves_every_class_and_loses_nothing(tmp_path: Path) -> None:
    report_path = tmp_path / "demo.json"
    code = main(
        DemoOptions(seconds=0, homes=9, grids=3, report=report_path, workdir=tmp_path / "w")
    )
    report = json.loads(report_path.read_text())
    assert code == 0
    events = report["events"]
    assert events["published"] >= 8
    assert events["lost"] == 0
    assert events["stored"] == events["published"]
    assert events["outbox_pending"] == 0
    for cls in ("call", "fall", "fire", "inactivity", "trouble", "pre_alarm"):
        reached = report["alarms"][cls]
        assert reached["raised"] >= 1, (cls, reached)
        assert reached["notified"] >= 1, (cls, reached)
        assert reached["resolved"] == reached["raised"], (cls, reached)
        if cls != "pre_alarm":  # burnt toast clears by itself, maybe before anyone acks
            assert reached["acknowledged"] >= 1, (cls, reached)
    checks = report["checks"]
    assert checks["pre_alarms_dispatched_to_field"] == 0
    assert checks["falls_cancelled_by_resident"] == 1
    assert report["alarms"]["fall"]["raised"] == 1  # the cancelled fall raised nothing
    assert checks["alarms_escalated"] >= 1
    assert checks["sirens_sounded"], "a confirmed fire must sound the building's siren"
    assert checks["sirens_on_now"] == []
    assert report["latency_ms"]["event_to_push"]["n"] >= 4
    assert report["latency_ms"]["event_to_store"]["n"] == events["stored"]
    assert report["influx"]["points"] > events["stored"]
    # The pages have logins made for this run: the duty officer's board, grid-1's phone page.
    with contextlib.closing(sqlite3.connect(tmp_path / "w" / "hub" / "hub.db")) as db:
        users = dict(db.execute("SELECT username, role FROM users").fetchall())
    assert users == {"duty": "duty_officer", "grid1": "grid_worker"}
