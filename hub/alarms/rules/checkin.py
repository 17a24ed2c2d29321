"""Daily check-in: a resident with a window must show a sign of life inside it, in the site's
time zone; otherwise an `inactivity` alarm is raised. A sign of life is an event of LIFE_KINDS
from one of their devices (motion/presence/door/bed `activity`, the "我很好 / I'm OK" check-in,
an SOS call or cancel, a fall) or a care visit a worker recorded. Device self-reports (`test`,
`fault`, `low_battery`, ...) are not: a device alone can send them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from hub.alarms.ledger import Ledger
from hub.alarms.rules.person import raise_or_repeat
from hub.store.people import CareVisitRow
from hub.store.schema import DeviceRow, EventRow, ResidentRow, SiteRow

LIFE_KINDS = ("activity", "call", "cancel", "fall")


def window(resident: ResidentRow, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Return the (start, end) of a resident's window closing on local `day`, tz-aware."""
    assert resident.checkin_start is not None and resident.checkin_end is not None
    end = datetime.combine(day, resident.checkin_end, tzinfo=tz)
    start = datetime.combine(day, resident.checkin_start, tzinfo=tz)
    if start >= end:
        start -= timedelta(days=1)
    return start, end


def _alive(
    ledger: Ledger, resident: ResidentRow, devices: list[DeviceRow], start: datetime, end: datetime
) -> bool:
    found = ledger.session.scalars(
        select(EventRow.id)
        .where(
            EventRow.site == devices[0].site,
            EventRow.device.in_([d.id for d in devices]),
            EventRow.kind.in_(LIFE_KINDS),
            EventRow.ts >= start,
            EventRow.ts <= end,
        )
        .limit(1)
    ).first()
    if found is not None:
        return True
    visit = ledger.session.scalars(
        select(CareVisitRow.id)
        .where(
            CareVisitRow.site == resident.site,
            CareVisitRow.resident == resident.id,
            CareVisitRow.ts >= start,
            CareVisitRow.ts <= end,
        )
        .limit(1)
    ).first()
    return visit is not None


def check_windows(ledger: Ledger) -> None:
    """Judge every check-in window that closed today and was not judged yet."""
    residents = ledger.session.scalars(
        select(ResidentRow).where(ResidentRow.checkin_end.is_not(None)).order_by(ResidentRow.id)
    ).all()
    zones: dict[str, ZoneInfo] = {}
    for resident in residents:
        if resident.site not in zones:
            site = ledger.session.get(SiteRow, resident.site)
            zones[resident.site] = ZoneInfo(site.timezone if site else "UTC")
        tz = zones[resident.site]
        today = ledger.now.astimezone(tz).date()
        start, end = window(resident, today, tz)
        closed = ledger.now >= end
        if resident.checkin_checked_on is None:
            # First sight of this resident: judge from the next window on, never retroactively.
            resident.checkin_checked_on = (
                today if closed else today - timedelta(days=1)
            ).isoformat()
            continue
        if not closed or resident.checkin_checked_on >= today.isoformat():
            continue
        resident.checkin_checked_on = today.isoformat()
        devices = list(
            ledger.session.scalars(
                select(DeviceRow)
                .where(DeviceRow.site == resident.site, DeviceRow.resident == resident.id)
                .order_by(DeviceRow.id)
            )
        )
        if devices and not _alive(ledger, resident, devices, start, end):
            hours = f"{resident.checkin_start:%H:%M}-{resident.checkin_end:%H:%M}"
            note = f"no sign of life in the check-in window {hours} ({tz.key})"
            raise_or_repeat(ledger, devices[0], "inactivity", None, "checkin", note)
