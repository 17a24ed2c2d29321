"""Trouble of the monitoring system itself rather than of a device, e.g. the MQTT broker
dropped messages (`broker_drops`): lost messages may be lost SOS calls anywhere on the site.

Every site the engine serves gets one active `trouble` alarm per reason, with no device and
no grid, routed by the policy's per-reason escalation (by default the duty officer at once).
`dead_letter`: an alarm-path message the engine failed on after every try was kept aside.
`nobody_on_duty`: a grid has no grid worker on duty now (rosters; `hub.duty`).
`care_overdue`: a care visit is overdue past its grace (`hub.duty`).
Further reports update it (`repeats`, `count`, a note in its history) and page nobody again;
a person acknowledges and resolves it like any alarm.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from hub.alarms.ledger import Ledger
from hub.alarms.replies import Refused
from hub.store.schema import AlarmRow, SiteRow

SYSTEM_REASONS = frozenset({"broker_drops", "dead_letter", "nobody_on_duty", "care_overdue"})


def raise_system(
    ledger: Ledger, sites: Collection[str] | None, reason: str, count: int, detail: str
) -> list[AlarmRow]:
    """Raise (or update) the `reason` trouble alarm of every site in the store (or of `sites`)."""
    if reason not in SYSTEM_REASONS:
        raise Refused("unknown_reason")
    if count < 1:
        raise Refused("invalid_count")
    found = ledger.session.scalars(select(SiteRow.id).order_by(SiteRow.id)).all()
    alarms = []
    for site in found:
        if sites is not None and site not in sites:
            continue
        alarm = ledger.active_system(site, "trouble", reason)
        if alarm is None:
            alarm = ledger.raise_system(site, "trouble", reason, count, detail)
            ledger.page(alarm, 0)
        else:
            alarm.repeats += 1
            alarm.count += count
            ledger.note(alarm, "system", f"{detail}; {alarm.count} since raised")
        alarms.append(alarm)
    return alarms
