"""The site registry (`firmware-config/sites/SITE/site.yaml` plus its `devices/*.yaml`).

Grids, buildings, households, residents (with what a responder needs), workers and their
roles and rosters. The hub imports it into its store; `watchpost config acl` reads it too.
"""

from __future__ import annotations

import functools
import gc
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import SchemaValidator

from protocol import yaml_loader
from protocol.config_file import load_model
from protocol.config_shape import shape_validator
from protocol.device_config import DeviceConfig, load_device_config
from protocol.errors import ConfigError
from protocol.messages import Contact
from protocol.topics import ID_PATTERN

Ident = Annotated[str, Field(pattern=ID_PATTERN)]
Role = Literal["grid_worker", "fire_station", "duty_officer", "supervisor", "maintenance"]


class Strict(BaseModel):
    """Base for registry sections: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Grid(Strict):
    """A grid: the patch one or more grid workers look after."""

    id: Ident = Field(description="Grid id")
    name_zh: str = Field("", description="Name shown in zh-CN")
    name_en: str = Field("", description="Name shown in English")


class Building(Strict):
    """A building; belongs to exactly one grid."""

    id: Ident = Field(description="Building id")
    grid: Ident = Field(description="Grid the building belongs to")
    address: str = Field("", description="Street address shown to responders")
    floors: int = Field(1, ge=1, le=200, description="Number of floors")


class Household(Strict):
    """A flat or home."""

    id: Ident = Field(description="Household id")
    building: Ident = Field(description="Building id")
    floor: int = Field(1, ge=-5, le=200, description="Floor number")
    unit: str = Field("", description="Unit/door number, e.g. 3-201")
    key_safe: str = Field("", description="Where the key is / key safe reference for responders")


class CheckinPlan(Strict):
    """Daily check-in window; no activity or check-in inside it raises `inactivity`."""

    window_start: time = Field(description="Local time the window opens, HH:MM")
    window_end: time = Field(description="Local time the window closes, HH:MM")


class Resident(Strict):
    """A protected person and the context a responder needs."""

    id: Ident = Field(description="Resident id")
    household: Ident = Field(description="Household id")
    name: str = Field(description="Full name as neighbours know it")
    age: int | None = Field(None, ge=0, le=130, description="Age in years")
    conditions: list[str] = Field(default_factory=list, description="Relevant medical conditions")
    contacts: list[Contact] = Field(default_factory=list, description="Emergency contacts")
    checkin: CheckinPlan | None = Field(None, description="Daily check-in plan, if any")


class Worker(Strict):
    """Someone who receives alarms."""

    id: Ident = Field(description="Worker id; also their MQTT user name")
    name: str = Field(description="Display name")
    role: Role = Field(description="What they respond to")
    phone: str = Field("", description="Phone number (for SMS gateways)")
    grids: list[Ident] = Field(default_factory=list, description="Grids they cover (grid workers)")
    backup_for: list[Ident] = Field(
        default_factory=list, description="Grids they back up (second escalation tier)"
    )
    notify: list[str] = Field(
        default_factory=list,
        description="Extra channels: Apprise URLs (wecom://, dingtalk://, ...) or webhook URLs",
    )
    on_duty: bool = Field(True, description="On the roster now (duty officers, fire station)")


class SiteConfig(Strict):
    """One community: its grids, buildings, households, residents and workers."""

    site: Ident = Field(description="Site id, used in MQTT topics")
    name_zh: str = Field("", description="Community name in zh-CN")
    name_en: str = Field("", description="Community name in English")
    timezone: str = Field("Asia/Shanghai", description="IANA time zone of the site")
    grids: list[Grid] = Field(min_length=1, description="Grids of the site")
    buildings: list[Building] = Field(default_factory=list, description="Buildings")
    households: list[Household] = Field(default_factory=list, description="Households")
    residents: list[Resident] = Field(default_factory=list, description="Residents")
    workers: list[Worker] = Field(default_factory=list, description="Workers")

    @model_validator(mode="after")
    def _references(self) -> SiteConfig:
        grids = {g.id for g in self.grids}
        buildings = {b.id for b in self.buildings}
        households = {h.id for h in self.households}
        for kind, items in (
            ("grid", self.grids),
            ("building", self.buildings),
            ("household", self.households),
            ("resident", self.residents),
            ("worker", self.workers),
        ):
            dupes = _duplicates(i.id for i in items)
            if dupes:
                raise ValueError(f"duplicate {kind} id(s): {', '.join(dupes)}")
        problems = [
            f"building {b.id}: grid {b.grid!r} is not defined in grids"
            for b in self.buildings
            if b.grid not in grids
        ]
        problems += [
            f"household {h.id}: building {h.building!r} is not defined in buildings"
            for h in self.households
            if h.building not in buildings
        ]
        problems += [
            f"resident {r.id}: household {r.household!r} is not defined in households"
            for r in self.residents
            if r.household not in households
        ]
        problems += [
            f"worker {w.id}: grid {g!r} is not defined in grids"
            for w in self.workers
            for g in (*w.grids, *w.backup_for)
            if g not in grids
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _duplicates(ids: Iterable[str]) -> list[str]:
    """The ids that occur more than once, sorted."""
    # Counter, not list.count: a site of 100,000 households must not cost n² steps.
    return sorted(i for i, n in Counter(ids).items() if n > 1)


BIG_LISTS = ("buildings", "households", "residents")
"""The lists of `site.yaml` that grow with the community (100,000 households, residents)."""


class SiteFields(NamedTuple):
    """`site.yaml` read through `SiteConfig`'s shape (`site_fields`)."""

    site: SiteConfig
    """The model of the rest: the site's own fields, grids, workers; `BIG_LISTS` empty."""
    buildings: list[dict[str, Any]]
    households: list[dict[str, Any]]
    residents: list[dict[str, Any]]
    """The `BIG_LISTS` as dicts of what each item gives (a field it leaves out is left out,
    not filled with its default)."""


def site_fields(text: str) -> SiteFields | None:
    """Return `site.yaml`'s `text` as `SiteFields` if it is JSON that YAML reads alike and
    `SiteConfig` accepts it; else None: `protocol.config_file.model_from_text` then gives the
    model or names the problem. The big lists are not built as models: a site of 100,000
    households and residents took ~2 s to build, its shape ~0.4 (docs/hub.md, "Run it")."""
    shape = _site_shape()
    if shape is None or not yaml_loader.reads_as_json(text):
        return None
    try:
        fields: dict[str, Any] = shape.validate_json(text)
        big = [fields.pop(name, []) for name in BIG_LISTS]
        # The rest as the model: what it holds is small, and its own `_references` checks
        # the grids and workers (with no buildings, households or residents to check).
        found = SiteFields(SiteConfig.model_validate(fields), *big)
    except ValidationError:
        return None
    return None if _dict_problems(found) else found


def _dict_problems(found: SiteFields) -> bool:
    """Whether `SiteConfig._references` would refuse the big lists (the model then names what)."""
    grids = {g.id for g in found.site.grids}
    buildings = {b["id"] for b in found.buildings}
    households = {h["id"] for h in found.households}
    if any(
        _duplicates(i["id"] for i in items)
        for items in (found.buildings, found.households, found.residents)
    ):
        return True
    return (
        any(b["grid"] not in grids for b in found.buildings)
        or any(h["building"] not in buildings for h in found.households)
        or any(r["household"] not in households for r in found.residents)
    )


@functools.cache
def _site_shape() -> SchemaValidator | None:
    """`SiteConfig`'s shape, `_references` checked by `site_fields`."""
    return shape_validator(SiteConfig, frozenset({"_references"}))


class Registry(BaseModel):
    """A site and its devices, as loaded from a site folder."""

    site: SiteConfig
    devices: list[DeviceConfig]


def device_files(folder: str | Path) -> list[Path]:
    """Return a site folder's `devices/*.yaml` files, sorted by name."""
    devices = Path(folder) / "devices"
    return [devices / name for name in device_names(folder)]


def device_paths(folder: str | Path) -> list[str]:
    """`device_files` as strings, built without a `Path` each (100,000 of them cost a second)."""
    prefix = f"{Path(folder) / 'devices'}{os.sep}"
    return [prefix + name for name in device_names(folder)]


def device_names(folder: str | Path) -> list[str]:
    """Return the names of a site folder's `devices/*.yaml` files, sorted."""
    devices = Path(folder) / "devices"
    if not devices.is_dir():
        return []
    with os.scandir(devices) as found:
        return sorted(e.name for e in found if e.name.endswith(".yaml"))


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many small objects are built.

    Parsing 100,000 files creates millions of objects and no cycles; each generation-2 pass
    walks all of them, which tripled the time of `load_site` (docs/bench.md).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class DeviceRef(NamedTuple):
    """Where a device file says the device is: what `SiteIndex.check` cross-checks."""

    device: str
    site: str
    grid: str
    building: str
    household: str | None
    resident: str | None


class SiteIndex:
    """The ids of `site.yaml` that device files must refer to, for the cross-check."""

    def __init__(
        self,
        site: str,
        building_grids: dict[str, str],
        households: set[str],
        residents: set[str],
    ) -> None:
        self.site = site
        self.building_grids = building_grids
        self.households = households
        self.residents = residents
        self.seen: set[str] = set()

    @classmethod
    def of(cls, site: SiteConfig) -> SiteIndex:
        """Index a validated `site.yaml`."""
        return cls(
            site.site,
            {b.id: b.grid for b in site.buildings},
            {h.id for h in site.households},
            {r.id for r in site.residents},
        )

    @classmethod
    def of_fields(cls, found: SiteFields) -> SiteIndex:
        """Index a `site.yaml` read through its shape."""
        return cls(
            found.site.site,
            {b["id"]: b["grid"] for b in found.buildings},
            {h["id"] for h in found.households},
            {r["id"] for r in found.residents},
        )

    def check(self, path: str, dev: DeviceRef) -> None:
        """Raise `ConfigError` naming `path` if the device does not fit the site (or repeats)."""
        problems = []
        if dev.device in self.seen:
            problems.append(f"device: id {dev.device!r} is used by another file")
        self.seen.add(dev.device)
        if dev.site != self.site:
            problems.append(f"site: {dev.site!r} but the folder is site {self.site!r}")
        grid = self.building_grids.get(dev.building)
        if grid is None:
            problems.append(f"building: {dev.building!r} is not in site.yaml buildings")
        elif grid != dev.grid:
            problems.append(f"grid: {dev.grid!r} but building {dev.building} is in {grid!r}")
        if dev.household is not None and dev.household not in self.households:
            problems.append(f"household: {dev.household!r} is not in site.yaml households")
        if dev.resident is not None and dev.resident not in self.residents:
            problems.append(f"resident: {dev.resident!r} is not in site.yaml residents")
        if problems:
            raise ConfigError(path, problems)


def device_ref(dev: DeviceConfig) -> DeviceRef:
    """Return what the cross-check needs of a device file."""
    return DeviceRef(dev.device, dev.site, dev.grid, dev.building, dev.household, dev.resident)


def load_site(folder: str | Path) -> Registry:
    """Load `site.yaml` and every `devices/*.yaml` of a site folder, cross-checking them.

    The first problem found raises `ConfigError` naming its file: `site.yaml` first, then the
    device files in name order (each parsed and validated), then the cross-check in name order.
    """
    root = Path(folder)
    with gc_paused():
        site = load_model(SiteConfig, root / "site.yaml")
        paths = device_files(root)
        devices = [load_device_config(p) for p in paths]
        index = SiteIndex.of(site)
        for path, dev in zip(paths, devices, strict=True):
            index.check(str(path), device_ref(dev))
        return Registry(site=site, devices=devices)
