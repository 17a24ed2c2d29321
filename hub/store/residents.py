"""Assemble what a responder needs to know about the person behind a device."""

from __future__ import annotations

from sqlalchemy import BindParameter, and_, bindparam, select
from sqlalchemy.orm import Session

from hub.store.schema import BuildingRow, DeviceRow, HouseholdRow, ResidentRow
from protocol.messages import Contact, ResidentContext


def address_of(building: BuildingRow | None, household: HouseholdRow | None, location: str) -> str:
    """Return the street address plus unit (or the device's location in common areas)."""
    parts = [building.address if building else ""]
    if household is not None and household.unit:
        parts.append(household.unit)
    elif location:
        parts.append(location)
    return " ".join(p for p in parts if p)[:200]


Rows = tuple[BuildingRow | None, HouseholdRow | None, ResidentRow | None]


_SITE: BindParameter[str] = bindparam("site")
_CONTEXT = (
    select(BuildingRow, HouseholdRow, ResidentRow)
    .select_from(DeviceRow)
    .outerjoin(BuildingRow, and_(BuildingRow.site == _SITE, BuildingRow.id == DeviceRow.building))
    .outerjoin(
        HouseholdRow, and_(HouseholdRow.site == _SITE, HouseholdRow.id == DeviceRow.household)
    )
    .outerjoin(ResidentRow, and_(ResidentRow.site == _SITE, ResidentRow.id == DeviceRow.resident))
    .where(DeviceRow.site == _SITE, DeviceRow.id == bindparam("device"))
)
"""Built once: building a statement costs ~0.2 ms here, more than running this one."""


def context_rows(session: Session, device: DeviceRow) -> Rows:
    """Return the device's building, household and resident rows, in one query."""
    found = session.execute(_CONTEXT, {"site": device.site, "device": device.id}).first()
    if found is None:
        return None, None, None
    return found[0], found[1], found[2]


def resident_context(
    session: Session, device: DeviceRow, rows: Rows | None = None
) -> ResidentContext:
    """Return the ResidentContext of a device (address only for common-area devices); `rows`
    are its `context_rows` when the caller has them already."""
    building, household, resident = rows if rows is not None else context_rows(session, device)
    address = address_of(building, household, device.location)
    if resident is None:
        return ResidentContext(
            address=address,
            floor=household.floor if household else None,
            key_safe=household.key_safe if household else "",
        )
    return ResidentContext(
        resident=resident.id,
        name=resident.name[:64],
        age=resident.age,
        conditions=list(resident.conditions)[:16],
        contacts=[Contact.model_validate(c) for c in resident.contacts][:8],
        address=address,
        floor=resident.floor,
        key_safe=resident.key_safe[:64],
    )
