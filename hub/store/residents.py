"""Assemble what a responder needs to know about the person behind a device."""

from __future__ import annotations

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


def resident_context(session: Session, device: DeviceRow) -> ResidentContext:
    """Return the ResidentContext of a device (address only for common-area devices)."""
    building = session.get(BuildingRow, (device.site, device.building))
    household = (
        session.get(HouseholdRow, (device.site, device.household)) if device.household else None
    )
    address = address_of(building, household, device.location)
    resident = session.get(ResidentRow, (device.site, device.resident)) if device.resident else None
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
