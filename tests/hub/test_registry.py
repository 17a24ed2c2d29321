"""Importing a site registry into the store: content, idempotence, updates, lookups."""

from __future__ import annotations

from sqlalchemy import func, select

from hub.store import Store
from hub.store.schema import (
    BuildingRow,
    DeviceRow,
    GridRow,
    HouseholdRow,
    ResidentRow,
    WorkerRow,
)
from protocol.site_config import Registry

SITE = "sunflower"
TABLES = (GridRow, BuildingRow, HouseholdRow, ResidentRow, WorkerRow, DeviceRow)


def counts(store: Store) -> list[int]:
    with store.session() as s:
        return [s.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES]


def test_import_is_complete_and_idempotent(store: Store, sunflower: Registry) -> None:
    assert counts(store) == [3, 3, 4, 4, 7, 7]
    store.import_registry(sunflower)
    assert counts(store) == [3, 3, 4, 4, 7, 7]
    with store.session() as s:
        wang = s.get(ResidentRow, (SITE, "r-wang-xiuying"))
        assert wang is not None
        assert (wang.age, wang.floor, str(wang.checkin_start), str(wang.checkin_end)) == (
            84,
            1,
            "07:00:00",
            "10:00:00",
        )
        assert wang.contacts == [{"name": "李明", "phone": "13800000001", "relation": "儿子 son"}]
        stair = s.get(DeviceRow, (SITE, "stair-b1"))
        assert stair is not None and stair.has_siren and stair.resident is None
        zhang = s.get(WorkerRow, (SITE, "w-zhang-wei"))
        assert zhang is not None and zhang.grids == ["grid-1"] and zhang.backup_for == ["grid-2"]


def test_reimport_updates_rows(store: Store, sunflower: Registry) -> None:
    site = sunflower.site.model_copy(
        update={
            "workers": [
                w.model_copy(update={"on_duty": False}) if w.id == "w-fire-1" else w
                for w in sunflower.site.workers
            ]
        }
    )
    store.import_registry(Registry(site=site, devices=sunflower.devices))
    with store.session() as s:
        fire = s.get(WorkerRow, (SITE, "w-fire-1"))
        assert fire is not None and not fire.on_duty


def test_same_ids_in_another_site_are_separate(store: Store, sunflower: Registry) -> None:
    other = sunflower.site.model_copy(update={"site": "maple"})
    devices = [d.model_copy(update={"site": "maple"}) for d in sunflower.devices]
    store.import_registry(Registry(site=other, devices=devices))
    assert counts(store) == [6, 6, 8, 8, 14, 14]
    assert store.known_device("maple", "home-b1-101")


def test_known_device_and_context(store: Store) -> None:
    assert store.known_device(SITE, "home-b1-101")
    assert store.known_device(SITE, "home-b1-101")  # cached
    assert not store.known_device(SITE, "ghost")
    assert not store.known_device("elsewhere", "home-b1-101")
    ctx = store.device_context(SITE, "home-b3-905")
    assert ctx is not None
    assert (ctx.grid, ctx.building, ctx.household) == ("grid-3", "b3", "b3-905")
    assert ctx.resident.name == "刘建华" and ctx.resident.floor == 9
    assert ctx.resident.key_safe == "物业前台 / property desk"
    assert ctx.resident.address == "向日葵路3号楼 / No.3 Sunflower Rd 3-905"
    common = store.device_context(SITE, "stair-b2")
    assert common is not None and common.has_siren and common.resident.resident is None
    assert store.device_context(SITE, "ghost") is None


def test_a_device_imported_later_becomes_known(store: Store, sunflower: Registry) -> None:
    assert not store.known_device(SITE, "home-b1-102")
    extra = sunflower.devices[0].model_copy(update={"device": "home-b1-102"})
    store.import_registry(Registry(site=sunflower.site, devices=[*sunflower.devices, extra]))
    assert store.known_device(SITE, "home-b1-102")


async def test_a_worker_dropped_from_the_registry_is_paged_no_more(
    store: Store, sunflower: Registry, engine, events, pick
) -> None:
    site = sunflower.site.model_copy(
        update={"workers": [w for w in sunflower.site.workers if w.id != "w-zhang-wei"]}
    )
    store.import_registry(Registry(site=site, devices=sunflower.devices))
    with store.session() as s:
        zhang = s.get(WorkerRow, (SITE, "w-zhang-wei"))
        assert zhang is not None and not zhang.on_duty
    # Nobody else covers grid-1 as tier 0, so the call goes straight to the backup.
    out = await engine.on_event(SITE, events("home-b1-101", "call"))
    assert pick.notified(out) == ["w-wang-fang"]


async def test_roster_changes_take_effect_on_the_next_page(store: Store, engine, events, pick):
    assert [w.id for w in store.workers(SITE) if w.role == "fire_station"] == ["w-fire-1"]
    assert store.set_on_duty(SITE, "w-zhang-wei", False)
    assert not store.set_on_duty(SITE, "w-nobody", False)
    out = await engine.on_event(SITE, events("home-b1-101", "call"))
    assert pick.notified(out) == ["w-wang-fang"]
    assert store.set_on_duty(SITE, "w-zhang-wei", True)
    out = await engine.on_event(SITE, events("home-b1-302", "call"))
    assert pick.notified(out) == ["w-zhang-wei"]
