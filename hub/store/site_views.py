"""Read models of a site for people: device health, siren devices, residents' places."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select

from hub.store.schema import DeviceRow, DeviceStateRow
from hub.store.store import Store
from hub.store.suspect import false_alarms_by_device, is_suspect
from protocol.messages import utcnow


class DeviceHealth(BaseModel):
    """One device: online, last heartbeat, battery and outbox depth when it reported them."""

    site: str
    device: str
    grid: str
    building: str
    location: str
    resident: str | None
    online: bool
    last_seen: datetime | None
    battery: float | None
    outbox: int | None
    fw: str | None
    false_alarms_30d: int = 0
    suspect: bool = False
    """3 or more false alarms in 30 days (hub/store/suspect.py); the device still pages."""


def device_health(
    store: Store, site: str | None, grids: tuple[str, ...] | None
) -> list[DeviceHealth]:
    """Return every device of `site` (None: all) in `grids` (None: all), by grid and id."""
    query = select(DeviceRow, DeviceStateRow).outerjoin(
        DeviceStateRow,
        (DeviceStateRow.site == DeviceRow.site) & (DeviceStateRow.device == DeviceRow.id),
    )
    if site is not None:
        query = query.where(DeviceRow.site == site)
    if grids is not None:
        query = query.where(DeviceRow.grid.in_(grids))
    query = query.order_by(DeviceRow.site, DeviceRow.grid, DeviceRow.id)
    out = []
    with store.session() as s:
        falses = false_alarms_by_device(s, site, utcnow())
        for device, state in s.execute(query):
            count = falses.get((device.site, device.id), 0)
            status = (state.last_status if state is not None else None) or {}
            battery = status.get("battery")
            outbox = status.get("outbox")
            fw = status.get("fw")
            out.append(
                DeviceHealth(
                    site=device.site,
                    device=device.id,
                    grid=device.grid,
                    building=device.building,
                    location=device.location,
                    resident=device.resident,
                    online=bool(state.online) if state is not None else False,
                    last_seen=state.last_seen if state is not None else None,
                    battery=float(battery) if isinstance(battery, int | float) else None,
                    outbox=int(outbox) if isinstance(outbox, int) else None,
                    fw=str(fw) if isinstance(fw, str) else None,
                    false_alarms_30d=count,
                    suspect=is_suspect(count),
                )
            )
    return out


def siren_devices(store: Store, site: str, building: str | None) -> list[str]:
    """Return the ids of the devices with a siren in `building` (None: the whole site)."""
    query = select(DeviceRow.id).where(DeviceRow.site == site, DeviceRow.has_siren.is_(True))
    if building is not None:
        query = query.where(DeviceRow.building == building)
    with store.session() as s:
        return list(s.scalars(query.order_by(DeviceRow.id)))
