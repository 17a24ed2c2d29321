"""Suspect devices: a device whose alarms were resolved as `false_alarm` SUSPECT_COUNT or more
times in the last SUSPECT_DAYS days. It still pages (a faulty-looking button may still be the
one real emergency); the API, its alerts and InfluxDB (`device_quality`) say it is suspect so
maintenance looks at it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, inspect, select
from sqlalchemy.orm import Session

from hub.store import fast
from hub.store.reads import core_for
from hub.store.schema import AlarmRow

SUSPECT_COUNT = 3
SUSPECT_DAYS = 30


_FALSE_ALARMS = select(func.count(AlarmRow.id)).where(
    AlarmRow.site == bindparam("site"),
    AlarmRow.device == bindparam("device"),
    AlarmRow.outcome == "false_alarm",
    AlarmRow.raised_at >= bindparam("since"),
)
"""Built once (it runs on every page: building it cost more than running it)."""


def false_alarms(session: Session, site: str, device: str, now: datetime) -> int:
    """Return how many of the device's alarms raised in the last 30 days were false alarms."""
    since = now - timedelta(days=SUSPECT_DAYS)
    # Pending changes that can move the count: a new alarm, or one closed as a false alarm
    # (a page's alert counts while its alarm's new state is still pending: no flush for that).
    params = {"site": site, "device": device, "since": since}
    count = fast.scalar(core_for(session, AlarmRow, _may_count), _FALSE_ALARMS, params)
    return int(count or 0)


def _may_count(alarm: AlarmRow) -> bool:
    return inspect(alarm).pending or alarm.outcome == "false_alarm"


def false_alarms_by_device(
    session: Session, site: str | None, now: datetime
) -> dict[tuple[str, str], int]:
    """Return {(site, device): false alarms in the last 30 days} for devices that have any."""
    since = now - timedelta(days=SUSPECT_DAYS)
    query = (
        select(AlarmRow.site, AlarmRow.device, func.count(AlarmRow.id))
        .where(
            AlarmRow.outcome == "false_alarm",
            AlarmRow.raised_at >= since,
            AlarmRow.device.is_not(None),
        )
        .group_by(AlarmRow.site, AlarmRow.device)
    )
    if site is not None:
        query = query.where(AlarmRow.site == site)
    return {(s, d): int(n) for s, d, n in session.execute(query) if d is not None}


def is_suspect(count: int) -> bool:
    """Tell whether this many false alarms in 30 days make a device suspect."""
    return count >= SUSPECT_COUNT
