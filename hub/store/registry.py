"""Upsert a site registry (site.yaml + devices/*.yaml) into the store, idempotently, in bulk.

Each table is synchronised in three statements at most: one SELECT of the site's rows, one
multi-row INSERT of the new ones, one bulk UPDATE (by primary key) of the changed ones; rows
that did not change are not written. 100,000 devices (with as many households and residents)
import in a few seconds instead of a few minutes of one ORM `get` per row (docs/bench.md).

`fingerprint(folder)` names a registry folder's state by its files' names, sizes and mtimes, and
`ImportMark` remembers which fingerprint went into which store, so a hub restarting on an
unchanged registry skips reading 100,000 device files (see `hub.app`).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

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
from protocol.site_config import Registry, SiteConfig

Row = dict[str, Any]
SUMMARY = {"site", "name_zh", "name_en", "timezone", "grids", "workers"}
"""What of `site.yaml` a hub keeps once the registry is in the store: who is paged, for where."""


def import_registry(session: Session, registry: Registry) -> dict[str, int]:
    """Insert or update every grid, building, household, resident, worker and device.

    Return how many rows were inserted and updated, per table.
    """
    site = registry.site
    sid = site.site
    _upsert_site(session, site)
    counts: dict[str, int] = {}
    for model, rows in (
        (GridRow, [{"site": sid, **g.model_dump()} for g in site.grids]),
        (BuildingRow, [{"site": sid, **b.model_dump()} for b in site.buildings]),
        (HouseholdRow, [{"site": sid, **h.model_dump()} for h in site.households]),
        (ResidentRow, _residents(site)),
        (WorkerRow, [{"site": sid, **w.model_dump()} for w in site.workers]),
        (DeviceRow, _devices(registry)),
    ):
        inserted, updated = _sync(session, model, sid, rows)
        counts[model.__tablename__] = inserted + updated
    # A worker dropped from the registry keeps their history but is paged no more.
    listed = [w.id for w in site.workers]
    session.execute(
        update(WorkerRow)
        .where(WorkerRow.site == sid, WorkerRow.id.not_in(listed), WorkerRow.on_duty.is_(True))
        .values(on_duty=False)
    )
    session.flush()
    return counts


def _upsert_site(session: Session, site: SiteConfig) -> None:
    values = {"name_zh": site.name_zh, "name_en": site.name_en, "timezone": site.timezone}
    row = session.get(SiteRow, (site.site,))
    if row is None:
        session.add(SiteRow(id=site.site, **values))
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.flush()


def _sync(session: Session, model: type[Base], sid: str, rows: Sequence[Row]) -> tuple[int, int]:
    """Insert the rows that are new and update the ones that changed; return both counts."""
    if not rows:
        return 0, 0
    table = model.__table__
    names = list(rows[0])
    values = [n for n in names if n not in ("site", "id")]
    query = select(table.c.id, *(table.c[n] for n in values)).where(table.c.site == sid)
    stored = {r[0]: tuple(r[1:]) for r in session.execute(query)}
    inserts: list[Row] = []
    updates: list[Row] = []
    for row in rows:
        old = stored.get(row["id"])
        if old is None:
            inserts.append(row)
        elif old != tuple(row[n] for n in values):
            updates.append(row)
    if inserts:
        session.execute(insert(model), inserts)
    if updates:
        session.execute(update(model), updates)  # ORM bulk UPDATE by primary key
    return len(inserts), len(updates)


def _residents(site: SiteConfig) -> list[Row]:
    households = {h.id: h for h in site.households}
    rows = []
    for r in site.residents:
        home = households[r.household]
        rows.append(
            {
                "site": site.site,
                "id": r.id,
                "household": r.household,
                "name": r.name,
                "age": r.age,
                "conditions": list(r.conditions),
                "contacts": [c.model_dump() for c in r.contacts],
                "key_safe": home.key_safe,
                "floor": home.floor,
                "checkin_start": r.checkin.window_start if r.checkin else None,
                "checkin_end": r.checkin.window_end if r.checkin else None,
            }
        )
    return rows


def _devices(registry: Registry) -> list[Row]:
    sid = registry.site.site
    return [
        {
            "site": sid,
            "id": d.device,
            "grid": d.grid,
            "building": d.building,
            "household": d.household,
            "resident": d.resident,
            "location": d.location,
            "has_siren": d.outputs.siren is not None,
            "heartbeat_s": d.timing.heartbeat_s,
        }
        for d in registry.devices
    ]


def fingerprint(folder: str | Path) -> str:
    """Return a digest of a registry folder's file names, sizes and modification times."""
    root = Path(folder)
    digest = hashlib.sha256()
    entries = [root / "site.yaml"]
    devices = root / "devices"
    if devices.is_dir():
        with os.scandir(devices) as found:
            entries += sorted(Path(e.path) for e in found if e.name.endswith(".yaml"))
    for path in entries:
        st = path.stat()
        digest.update(f"{path.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


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
