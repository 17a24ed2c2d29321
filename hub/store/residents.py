"""Assemble what a responder needs to know about the person behind a device."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import BindParameter, and_, bindparam, select
from sqlalchemy.orm import Session

from hub.store import fast
from hub.store.schema import BuildingRow, DeviceRow, HouseholdRow, ResidentRow
from protocol.messages import Contact, ResidentContext


class Building(NamedTuple):
    """What an alert needs of a building."""

    address: str


class Household(NamedTuple):
    """What an alert needs of a household."""

    floor: int
    unit: str
    key_safe: str


class Resident(NamedTuple):
    """What an alert needs of a resident."""

    id: str
    name: str
    age: int | None
    conditions: list[str]
    contacts: list[dict[str, str]]
    key_safe: str
    floor: int | None


def address_of(building: Building | None, household: Household | None, location: str) -> str:
    """Return the street address plus unit (or the device's location in common areas)."""
    parts = [building.address if building else ""]
    if household is not None and household.unit:
        parts.append(household.unit)
    elif location:
        parts.append(location)
    return " ".join(p for p in parts if p)[:200]


Rows = tuple[Building | None, Household | None, Resident | None]

_SITE: BindParameter[str] = bindparam("site")
_CONTEXT = (
    select(
        BuildingRow.id,
        BuildingRow.address,
        HouseholdRow.id,
        HouseholdRow.floor,
        HouseholdRow.unit,
        HouseholdRow.key_safe,
        ResidentRow.id,
        ResidentRow.name,
        ResidentRow.age,
        ResidentRow.conditions,
        ResidentRow.contacts,
        ResidentRow.key_safe,
        ResidentRow.floor,
    )
    .select_from(DeviceRow)
    .outerjoin(BuildingRow, and_(BuildingRow.site == _SITE, BuildingRow.id == DeviceRow.building))
    .outerjoin(
        HouseholdRow, and_(HouseholdRow.site == _SITE, HouseholdRow.id == DeviceRow.household)
    )
    .outerjoin(ResidentRow, and_(ResidentRow.site == _SITE, ResidentRow.id == DeviceRow.resident))
    .where(DeviceRow.site == _SITE, DeviceRow.id == bindparam("device"))
)
"""Built once (building a statement costs ~0.2 ms here, more than running this one). Columns,
not the three ORM rows: loading them as objects was a tenth of an SOS (pyinstrument,
2026-12-03)."""


def context_rows(session: Session, device: DeviceRow) -> Rows:
    """Return what an alert needs of the device's building, household and resident, in one
    query (registry rows: nothing pending in the session changes them, so no flush)."""
    found = fast.first(session.connection(), _CONTEXT, {"site": device.site, "device": device.id})
    if found is None:
        return None, None, None
    building_id, address, household_id, *household, resident_id = found[:7]
    return (
        None if building_id is None else Building(address),
        None if household_id is None else Household(*household),
        None if resident_id is None else Resident(resident_id, *found[7:]),
    )


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
