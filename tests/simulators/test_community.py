"""Generated communities: valid registries in the firmware-config layout."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from protocol.site_config import load_site
from simulators.community import (
    CommunityOptions,
    generate_community,
    home_devices,
    write_community,
)


def test_written_community_loads_back(tmp_path: Path) -> None:
    opt = CommunityOptions(site="sim-a", broker_url="mqtt://broker.test:1884", outbox_dir="/data")
    registry = generate_community(20, 3, opt)
    folder = write_community(registry, tmp_path / "sim-a")
    loaded = load_site(folder)
    assert loaded.site == registry.site
    assert sorted(d.device for d in loaded.devices) == sorted(d.device for d in registry.devices)
    assert len(home_devices(loaded)) == 20
    for device in loaded.devices:
        assert device.broker.url == "mqtt://broker.test:1884"
        assert device.outbox.path == f"/data/{device.device}.db"


def test_people_and_places() -> None:
    registry = generate_community(13, 2, CommunityOptions(homes_per_building=4, seed=3))
    site = registry.site
    assert [g.id for g in site.grids] == ["grid-1", "grid-2"]
    assert len(site.residents) == len(site.households) == 13
    assert all(65 <= (r.age or 0) <= 95 and r.contacts for r in site.residents)
    assert all("\u4e00" <= r.name[0] <= "\u9fff" for r in site.residents)  # Chinese names
    stairs = [d for d in registry.devices if d.resident is None]
    assert {d.building for d in stairs} == {b.id for b in site.buildings}
    assert all(d.outputs.siren is not None and d.inputs.smoke_contact for d in stairs)
    roles = Counter(w.role for w in site.workers)
    assert roles["grid_worker"] == 2
    assert roles["fire_station"] >= 1
    assert roles["duty_officer"] == roles["supervisor"] == roles["maintenance"] == 1
    covered = {g for w in site.workers for g in w.grids}
    backed = {g for w in site.workers for g in w.backup_for}
    assert covered == backed == {"grid-1", "grid-2"}
    per_building = Counter(h.building for h in site.households)
    assert max(per_building.values()) <= 4


def test_single_grid_gets_a_backup_worker() -> None:
    site = generate_community(2, 1).site
    assert {g for w in site.workers for g in w.backup_for} == {"grid-1"}


def test_seeded() -> None:
    a = generate_community(5, 2, CommunityOptions(seed=9))
    b = generate_community(5, 2, CommunityOptions(seed=9))
    assert a == b


def test_rejects_empty() -> None:
    with pytest.raises(ValueError, match="at least one home"):
        generate_community(0, 1)
