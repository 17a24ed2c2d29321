"""Suspect devices: 3 false alarms in 30 days mark a device suspect in its alerts, in the API's
device health and in InfluxDB (`device_quality`); it still pages."""

from __future__ import annotations

from hub.alarms.actions import Notify, Transition
from hub.influx import device_quality_line
from hub.store.site_views import device_health

SITE = "sunflower"
HOME = "home-b1-101"


async def false_alarm(engine, events, store, clock) -> list[Transition]:
    await engine.on_event(SITE, events(HOME, "call"))
    alarm = store.list_alarms(site=SITE, active_only=True)[0]
    await engine.act(alarm.id, "w-zhang-wei", "ack")
    out = await engine.act(alarm.id, "w-zhang-wei", "resolve", outcome="false_alarm")
    clock.advance(3600)
    return [a for a in out.actions if isinstance(a, Transition)]


async def test_three_false_alarms_in_30_days_make_a_device_suspect(engine, events, store, clock):
    counts = []
    for _ in range(3):
        (resolved,) = await false_alarm(engine, events, store, clock)
        counts.append((resolved.device, resolved.false_alarms_30d))
    assert counts == [(HOME, 1), (HOME, 2), (HOME, 3)]
    (health,) = [d for d in device_health(store, SITE, None) if d.device == HOME]
    assert (health.false_alarms_30d, health.suspect) == (3, True)
    others = [d for d in device_health(store, SITE, None) if d.device != HOME]
    assert not any(d.suspect for d in others)
    # It still pages, and the alert says it is suspect.
    out = await engine.on_event(SITE, events(HOME, "call"))
    alert = next(a for a in out.actions if isinstance(a, Notify)).alert
    assert "可疑设备：近30天误报 3 次" in alert.body_zh
    assert "Suspect device: 3 false alarms in 30 days" in alert.body_en


async def test_false_alarms_older_than_30_days_do_not_count(engine, events, store, clock):
    for _ in range(3):
        await false_alarm(engine, events, store, clock)
    clock.advance(31 * 86400)
    out = await engine.on_event(SITE, events(HOME, "call"))
    alert = next(a for a in out.actions if isinstance(a, Notify)).alert
    assert "Suspect" not in alert.body_en


def test_device_quality_point() -> None:
    from datetime import UTC, datetime

    line = device_quality_line(SITE, "grid-1", HOME, 3, True, datetime(2026, 1, 1, tzinfo=UTC))
    assert line == (
        "device_quality,device=home-b1-101,grid=grid-1,site=sunflower "
        "false_alarms_30d=3i,suspect=1i 1767225600000"
    )
