"""The site registry (`firmware-config/sites/SITE/site.yaml` plus its `devices/*.yaml`).

Grids, buildings, households, residents (with what a responder needs), workers and their
roles and rosters. The hub imports it into its store; `watchpost config acl` reads it too.
"""

from __future__ import annotations

from collections import Counter
from datetime import time
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocol.config_file import load_model
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
            # Counter, not list.count: a site of 100,000 households must not cost n² steps.
            seen = Counter(i.id for i in items)
            dupes = sorted(i for i, n in seen.items() if n > 1)
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


class Registry(BaseModel):
    """A site and its devices, as loaded from a site folder."""

    site: SiteConfig
    devices: list[DeviceConfig]


def load_site(folder: str | Path) -> Registry:
    """Load `site.yaml` and every `devices/*.yaml` of a site folder, cross-checking them."""
    root = Path(folder)
    site = load_model(SiteConfig, root / "site.yaml")
    devices = [load_device_config(p) for p in sorted((root / "devices").glob("*.yaml"))]
    buildings = {b.id: b for b in site.buildings}
    households = {h.id for h in site.households}
    residents = {r.id for r in site.residents}
    seen: set[str] = set()
    for dev in devices:
        path = str(root / "devices" / f"{dev.device}.yaml")
        problems = []
        if dev.device in seen:
            problems.append(f"device: id {dev.device!r} is used by another file")
        seen.add(dev.device)
        if dev.site != site.site:
            problems.append(f"site: {dev.site!r} but the folder is site {site.site!r}")
        if dev.building not in buildings:
            problems.append(f"building: {dev.building!r} is not in site.yaml buildings")
        elif buildings[dev.building].grid != dev.grid:
            problems.append(
                f"grid: {dev.grid!r} but building {dev.building} "
                f"is in {buildings[dev.building].grid!r}"
            )
        if dev.household is not None and dev.household not in households:
            problems.append(f"household: {dev.household!r} is not in site.yaml households")
        if dev.resident is not None and dev.resident not in residents:
            problems.append(f"resident: {dev.resident!r} is not in site.yaml residents")
        if problems:
            raise ConfigError(path, problems)
    return Registry(site=site, devices=devices)
