"""Upsert a site registry (site.yaml + devices/*.yaml) into the store, idempotently, in bulk.

Each table is synchronised in three statements at most: one SELECT of the site's rows, one
multi-row INSERT (Core executemany) of the new ones, one bulk UPDATE (by primary key) of the
changed ones; rows that did not change are not written. Devices come as compact `DeviceTuple`s,
so a bulk import (`hub.store.registry_import`) can parse them in other processes and stream
them in, chunk by chunk, inside the one transaction (docs/bench.md).

`fingerprint(folder)` names a registry folder's state by its files' names, sizes and mtimes, and
`ImportMark` remembers which fingerprint went into which store, so a hub restarting on an
unchanged registry skips reading 100,000 device files (see `hub.app`).
"""

from __future__ import annotations

import hashlib
import json
import operator
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from hub.store.bulk import insert_tuples
from hub.store.schema import (
    Base,
    BuildingRow,
    DeviceRow,
    GridRow,
    HouseholdRow,
    ResidentRow,
    SiteRow,
    WorkerRow,
)
from protocol.config_file import config_text, model_from_text
from protocol.device_config import DeviceConfig, TimingConfig, device_fields
from protocol.messages import Contact
from protocol.site_config import (
    Building,
    DeviceRef,
    Household,
    Registry,
    Resident,
    SiteConfig,
    SiteFields,
    SiteIndex,
    device_names,
    gc_paused,
    site_fields,
)

WRITTEN: tuple[Any, ...] = ()
"""What `_sync` notes of a row it inserted: equal to no row's values."""
DeviceTuple = tuple[str, str, str, str, str | None, str | None, str, bool, float]
"""A device file as the store keeps it: the `DeviceRef` fields, then location, has_siren,
heartbeat_s (the columns of `DEVICE_COLUMNS`, without `site`, `id` first as `device`)."""
DEVICE_COLUMNS = (
    "id", "site", "grid", "building", "household", "resident", "location", "has_siren",
    "heartbeat_s",
)  # fmt: skip
SUMMARY = {"site", "name_zh", "name_en", "timezone", "grids", "workers"}
"""What of `site.yaml` a hub keeps once the registry is in the store: who is paged, for where."""


def device_tuple(d: DeviceConfig) -> DeviceTuple:
    """Return a device file's row (small and picklable: what a parsing process sends back)."""
    return (
        d.device, d.site, d.grid, d.building, d.household, d.resident, d.location,
        d.outputs.siren is not None, d.timing.heartbeat_s,
    )  # fmt: skip


_LOCATION = DeviceConfig.model_fields["location"].default
_HEARTBEAT_S = TimingConfig.model_fields["heartbeat_s"].default


def device_row(path: str) -> DeviceTuple:
    """Read and validate a device file; return its row. Raise `ConfigError` as
    `load_device_config` does: a file `device_fields` accepts is read from that dict, without
    building its model (~13 µs less of each of 100,000 files, docs/hub.md)."""
    text = config_text(path)
    d = device_fields(text)
    if d is None:  # YAML, or a problem: the model names it
        return device_tuple(model_from_text(DeviceConfig, text, path))
    return (
        d["device"], d["site"], d["grid"], d["building"], d.get("household"),
        d.get("resident"), d.get("location", _LOCATION),
        d.get("outputs", {}).get("siren") is not None,
        d.get("timing", {}).get("heartbeat_s", _HEARTBEAT_S),
    )  # fmt: skip


def device_ref(row: DeviceTuple) -> DeviceRef:
    """Return what `SiteIndex.check` cross-checks of a device row."""
    return DeviceRef(*row[:6])


def import_registry(session: Session, registry: Registry) -> dict[str, int]:
    """Insert or update every grid, building, household, resident, worker and device.

    Return how many rows were inserted and updated, per table. The cyclic GC is paused
    meanwhile: with a 100,000-device registry alive, its passes cost more than the import.
    """
    with gc_paused():
        counts = import_site(session, registry.site)
        devices = DeviceSync(session, registry.site.site)
        devices.add(device_tuple(d) for d in registry.devices)
        counts[DeviceRow.__tablename__] = devices.written
    return counts


def import_site(
    session: Session, site: SiteConfig, rows: list[SiteRows] | None = None
) -> dict[str, int]:
    """Insert or update the site and every row of `site.yaml`; return rows written per table.

    `rows`: `site_rows(site)` if built already. A worker dropped from the registry keeps
    their history but is paged no more.
    """
    sid = site.site
    _upsert_site(session, site)
    counts: dict[str, int] = {}
    for model, columns, table_rows in site_rows(site) if rows is None else rows:
        stored = _stored(session, model, sid, columns) if table_rows else {}
        inserted, updated = _sync(session, model, stored, columns, table_rows)
        counts[model.__tablename__] = inserted + updated
    listed = [w.id for w in site.workers]
    session.execute(
        update(WorkerRow)
        .where(WorkerRow.site == sid, WorkerRow.id.not_in(listed), WorkerRow.on_duty.is_(True))
        .values(on_duty=False)
    )
    session.flush()
    return counts


def site_rows(site: SiteConfig) -> list[SiteRows]:
    """The rows of `site.yaml`'s tables, in the order they are written (parents first)."""
    sid = site.site
    return [
        _flat(GridRow, sid, site.grids),
        _flat(BuildingRow, sid, site.buildings),
        _flat(HouseholdRow, sid, site.households),
        (ResidentRow, RESIDENT_COLUMNS, _residents(site)),
        _workers(sid, site),
    ]


Columns = tuple[str, ...]
"""A table's columns as `_sync` takes them: `site`, `id`, then the others."""
Tuple = tuple[Any, ...]
RESIDENT_COLUMNS: Columns = (
    "site", "id", "household", "name", "age", "conditions", "contacts", "key_safe", "floor",
    "checkin_start", "checkin_end",
)  # fmt: skip
SYNCED_DEVICE_COLUMNS: Columns = ("site", *DEVICE_COLUMNS[:1], *DEVICE_COLUMNS[2:])
SiteRows = tuple[type[Base], Columns, list[Tuple]]
"""One table's rows of `site.yaml`: (its model, the columns, the rows)."""


def _flat(model: type[Base], sid: str, items: Sequence[BaseModel]) -> SiteRows:
    """Rows of a model whose fields are its table's columns, `id` first (grids, buildings,
    households): its own values, not a `model_dump` each."""
    if not items:
        return model, ("site", "id"), []
    columns = ("site", *items[0].__dict__)
    assert columns[1] == "id", columns
    return model, columns, [(sid, *item.__dict__.values()) for item in items]


def read_site(path: Path) -> tuple[SiteConfig, list[SiteRows], SiteIndex]:
    """Read and validate `site.yaml`; return the site, its rows (`site_rows`) and its index
    for the cross-check. Raise `ConfigError` as `load_model(SiteConfig, path)` does.

    Read through its shape where it can (`site_fields`: 0.8 s of CPU for a site of 100,000
    homes where the model took 2.5, docs/hub.md): the site returned then has no buildings,
    households or residents, as the summary an import mark keeps; they are in the rows and
    the index."""
    text = config_text(path)
    found = site_fields(text)
    if found is None:  # YAML, or a problem: the model names it
        site = model_from_text(SiteConfig, text, path)
        return site, site_rows(site), SiteIndex.of(site)
    return found.site, site_rows_of(found), SiteIndex.of_fields(found)


def site_rows_of(found: SiteFields) -> list[SiteRows]:
    """`site_rows` of a `site.yaml` read through its shape: the same rows, from its dicts."""
    site, sid = found.site, found.site.site
    return [
        _flat(GridRow, sid, site.grids),
        _filled(BuildingRow, Building, sid, found.buildings),
        _filled(HouseholdRow, Household, sid, found.households),
        (ResidentRow, RESIDENT_COLUMNS, _resident_fields(sid, found)),
        _workers(sid, site),
    ]


def _defaults(model: type[BaseModel]) -> dict[str, Any]:
    """The defaults of `model`'s optional fields (its factories called once: shared)."""
    return {
        name: info.get_default(call_default_factory=True)
        for name, info in model.model_fields.items()
        if not info.is_required()
    }


def _filled(
    table: type[Base], model: type[BaseModel], sid: str, items: list[dict[str, Any]]
) -> SiteRows:
    """`_flat`'s rows of dicts of `model`'s fields, each one left out given its default."""
    if not items:
        return table, ("site", "id"), []
    names = tuple(model.model_fields)
    assert names[0] == "id", names
    defaults = _defaults(model)
    assert all(not isinstance(v, list | dict | set) for v in defaults.values()), model
    values = operator.itemgetter(*names)  # a tuple: `id` and at least one more
    return table, ("site", *names), [(sid, *values({**defaults, **i})) for i in items]


def _resident_fields(sid: str, found: SiteFields) -> list[Tuple]:
    """`_residents` of a `site.yaml` read through its shape."""
    homes = {h["id"]: h for h in found.households}
    home_defaults, defaults, contact_defaults = (
        _defaults(Household), _defaults(Resident), _defaults(Contact)
    )  # fmt: skip
    contact_names = tuple(Contact.model_fields)

    def contact(given: dict[str, Any]) -> dict[str, Any]:  # as `model_dump` gives it
        merged = {**contact_defaults, **given}
        return {n: merged[n] for n in contact_names}

    rows = []
    for r in found.residents:
        home = homes[r["household"]]
        checkin = r.get("checkin", defaults["checkin"])
        contacts = r.get("contacts")
        rows.append(
            (
                sid, r["id"], r["household"], r["name"], r.get("age", defaults["age"]),
                list(r.get("conditions", ())),
                [contact(c) for c in contacts] if contacts else [],
                home.get("key_safe", home_defaults["key_safe"]),
                home.get("floor", home_defaults["floor"]),
                checkin["window_start"] if checkin else None,
                checkin["window_end"] if checkin else None,
            )
        )  # fmt: skip
    return rows


def _workers(sid: str, site: SiteConfig) -> SiteRows:
    dumped = [w.model_dump() for w in site.workers]
    columns = ("site", *dumped[0]) if dumped else ("site", "id")
    assert columns[1] == "id", columns
    return WorkerRow, columns, [(sid, *w.values()) for w in dumped]


class DeviceSync:
    """Insert or update a site's devices, in as many `add` calls (chunks) as convenient."""

    def __init__(self, session: Session, site: str) -> None:
        self.session = session
        self.site = site
        self._stored: dict[str, Tuple] | None = None
        self.written = 0

    def add(self, devices: Iterable[DeviceTuple]) -> None:
        """Write the devices that are new or changed, as devices of this site."""
        # The cross-check refused any other site; the registry's wins.
        sid = self.site
        rows = [(sid, d[0], *d[2:]) for d in devices]
        if not rows:
            return
        if self._stored is None:  # read once: 100,000 rows, not one query per chunk
            self._stored = _stored(self.session, DeviceRow, sid, SYNCED_DEVICE_COLUMNS)
        columns = SYNCED_DEVICE_COLUMNS
        inserted, updated = _sync(self.session, DeviceRow, self._stored, columns, rows)
        self.written += inserted + updated


def _upsert_site(session: Session, site: SiteConfig) -> None:
    values = {"name_zh": site.name_zh, "name_en": site.name_en, "timezone": site.timezone}
    row = session.get(SiteRow, (site.site,))
    if row is None:
        session.add(SiteRow(id=site.site, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.flush()


def _stored(session: Session, model: type[Base], sid: str, columns: Columns) -> dict[str, Tuple]:
    """Return the site's stored rows of `model`: id → the values of `columns[2:]`."""
    table = _table(model)
    query = select(table.c.id, *(table.c[n] for n in columns[2:])).where(table.c.site == sid)
    return {r[0]: tuple(r[1:]) for r in session.execute(query)}


def _sync(
    session: Session,
    model: type[Base],
    stored: dict[str, Tuple],
    columns: Columns,
    rows: Sequence[Tuple],
) -> tuple[int, int]:
    """Insert the rows (of `columns`, `site` and `id` first) that are new and update the ones
    that changed; return both counts."""
    if not rows:
        return 0, 0
    if not stored:  # a new store: nothing to compare
        inserts: Sequence[Tuple] = rows
        updates: list[Tuple] = []
    else:
        inserts, updates = [], []
        for row in rows:
            old = stored.get(row[1])
            if old is None:
                inserts.append(row)
            elif old != row[2:]:
                updates.append(row)
    if inserts:
        insert_tuples(session, _table(model), columns, inserts)
    if updates:  # ORM bulk UPDATE by primary key
        session.execute(update(model), [dict(zip(columns, r, strict=True)) for r in updates])
    for row in inserts:  # a file listed twice is refused before the import, but be safe:
        stored[row[1]] = WRITTEN  # a later row with this id is then written as an UPDATE
    return len(inserts), len(updates)


def _table(model: type[Base]) -> Table:
    table: Table = model.__table__  # type: ignore[assignment]  # declared as FromClause
    return table


def _residents(site: SiteConfig) -> list[Tuple]:
    """Resident rows in `RESIDENT_COLUMNS` order (with their household's key safe and floor)."""
    households = {h.id: h for h in site.households}
    sid = site.site
    rows = []
    for r in site.residents:
        home = households[r.household]
        checkin = r.checkin
        rows.append(
            (
                sid, r.id, r.household, r.name, r.age, list(r.conditions),
                [c.model_dump() for c in r.contacts] if r.contacts else [],
                home.key_safe, home.floor,
                checkin.window_start if checkin else None,
                checkin.window_end if checkin else None,
            )
        )  # fmt: skip
    return rows


def fingerprint(folder: str | Path) -> str:
    """Return a digest of a registry folder's file names, sizes and modification times."""
    root = Path(folder)
    try:
        st = (root / "site.yaml").stat()
        lines = [f"site.yaml\0{st.st_size}\0{st.st_mtime_ns}\n"]
    except OSError:  # reading it will say what is wrong, naming the file
        lines = ["site.yaml\0missing\n"]
    names = device_names(root)
    if names:
        # Each file by its name in the folder opened once: the kernel walks one component,
        # not the whole path (100,000 stats: ~0.65 s of CPU where full paths took ~1.0).
        fd = os.open(root / "devices", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for name in names:
                st = os.stat(name, dir_fd=fd)
                lines.append(f"{name}\0{st.st_size}\0{st.st_mtime_ns}\n")
        finally:
            os.close(fd)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


class ImportMark:
    """A small JSON file: which registry fingerprint was imported into which store, how many
    devices that gave, and the part of `site.yaml` the hub routes pages with (site, grids,
    workers). A mark that does not match (other store, changed files, a store whose device
    count differs, e.g. one that was reset) means: import again."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @staticmethod
    def _store_id(store_url: str) -> str:
        return hashlib.sha256(store_url.encode()).hexdigest()[:16]

    def read(self, folder_fp: str, store_url: str) -> tuple[SiteConfig, int] | None:
        """Return (site summary, devices imported) if this registry went into this store."""
        try:
            mark = json.loads(self.path.read_text(encoding="utf-8"))
            if mark["fingerprint"] != folder_fp or mark["store"] != self._store_id(store_url):
                return None
            return SiteConfig.model_validate(mark["summary"]), int(mark["devices"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, folder_fp: str, store_url: str, site: SiteConfig, devices: int) -> None:
        """Record a successful import (atomically: written aside, then renamed)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        summary = site.model_dump(mode="json", include=SUMMARY)
        doc: dict[str, object] = {
            "fingerprint": folder_fp,
            "store": self._store_id(store_url),
            "devices": devices,
            "summary": summary,
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc), encoding="utf-8")
        tmp.replace(self.path)
