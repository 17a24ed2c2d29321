"""Tell everyone already paged for an alarm what became of it: who acknowledged it, arrived,
resolved or cancelled it, so two people do not run to the same door and nobody wonders.

Updates go over MQTT only (the app replaces the alert it shows, and the virtual workers do
not answer them); webhooks, Apprise and SMS carry pages, not news.
"""

from __future__ import annotations

from hub.alarms.alerts import actor_names
from hub.alarms.ledger import MQTT_ONLY, Ledger
from hub.store.schema import AlarmRow, WorkerRow

__all__ = ["MQTT_ONLY", "tell_others", "who"]


def who(ledger: Ledger, alarm: AlarmRow, actor: str) -> tuple[str, str]:
    """Return (zh, en) of `actor` on `alarm`: a worker's name, the resident, the system."""
    return actor_names(actor, ledger.session.get(WorkerRow, (alarm.site, actor)))


def tell_others(ledger: Ledger, alarm: AlarmRow, actor: str, outcome: str | None = None) -> None:
    """Send the alarm's new state, and who brought it there, to every other worker paged."""
    ledger.tell_others(alarm, actor, outcome)
