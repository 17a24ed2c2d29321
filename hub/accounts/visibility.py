"""Which alarms a principal may see (and so act on): one SQL filter, used by every route.

admin: everything. duty officer, supervisor, viewer: their site. grid worker: alarms of their
grids and alarms they were paged for. fire station: fires of their site and alarms paged to
them; maintenance likewise with trouble alarms. An alarm outside this filter is "not found"
(404) to that principal, so ids of other grids' alarms leak nothing.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true

from hub.accounts.principal import Principal
from hub.accounts.roles import CLASS_OF_ROLE
from hub.store.schema import AlarmRow, RecipientRow


def alarm_clause(who: Principal) -> ColumnElement[bool]:
    """Return the WHERE clause selecting the alarms `who` may see."""
    if who.role == "admin":
        return true()
    if who.site is None:
        return false()
    in_site = AlarmRow.site == who.site
    if who.may("site.all"):
        return in_site
    mine: list[ColumnElement[bool]] = []
    if who.worker is not None:
        mine.append(
            exists().where(RecipientRow.alarm_id == AlarmRow.id, RecipientRow.worker == who.worker)
        )
    if who.role == "grid_worker" and who.grids:
        mine.append(AlarmRow.grid.in_(who.grids))
    cls = CLASS_OF_ROLE.get(who.role)
    if cls is not None:
        mine.append(AlarmRow.cls == cls)
    if not mine:
        return false()
    return and_(in_site, or_(*mine))


def visible_alarms(who: Principal) -> Select[AlarmRow]:
    """Return a SELECT of the alarms `who` may see."""
    return select(AlarmRow).where(alarm_clause(who))


def site_of(who: Principal, requested: str | None) -> str | None:
    """Return the site a principal's query is about: their own (admin: what they asked for)."""
    if who.role == "admin":
        return requested
    return who.site
