"""Scenario files: validation with clear errors, and the shipped scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocol.errors import ConfigError
from simulators.community import CommunityOptions, generate_community, home_devices
from simulators.home import VirtualHome
from simulators.scenario import SCENARIO_DIR, Stage, homes_needed, load_scenario


@pytest.mark.parametrize("path", sorted(SCENARIO_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_scenarios_load(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.steps


def test_demo_has_one_of_everything_within_a_minute() -> None:
    demo = load_scenario(SCENARIO_DIR / "demo.yaml")
    actions = {s.action for s in demo.steps}
    assert actions >= {"press_call", "fall", "fall_cancelled", "smoke", "fire", "go_silent",
                       "battery_low"}  # fmt: skip
    toast = [s for s in demo.steps if s.action == "smoke"]
    assert [getattr(s, "curve", None) for s in toast] == ["toast"]
    assert demo.duration_s <= 60
    assert homes_needed(demo) == 6


@pytest.mark.parametrize(
    ("yaml", "problem"),
    [
        ("name: x\nsteps: [{at: 1, home: 0, action: press_call, kind: forward}]",
         "steps.0.press_call.kind: unknown field"),
        ("name: x\nsteps: [{at: 1, home: 0, action: dance}]", "steps.0"),
        ("name: x\nsteps: [{at: 1, home: 0, action: fall, kind: sideway}]",
         "steps.0.fall.kind"),
        ("name: x\nsteps: [{at: -1, home: 0, action: press_call}]", "steps.0.press_call.at"),
        ("name: x\nsteps: []", "steps"),
        ("name: x\nstep: []", "step: unknown field"),
    ],
)  # fmt: skip
def test_bad_scenarios_name_the_step(tmp_path: Path, yaml: str, problem: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml)
    with pytest.raises(ConfigError) as info:
        load_scenario(path)
    assert str(path) in str(info.value)
    assert problem in str(info.value)


def test_stage_checks_references(tmp_path: Path) -> None:
    registry = generate_community(2, 1, CommunityOptions(outbox_dir=str(tmp_path)))
    homes = [VirtualHome(cfg) for cfg in home_devices(registry)]
    stage = Stage(homes)
    path = tmp_path / "s.yaml"
    path.write_text("name: x\nsteps: [{at: 1, home: 5, action: press_call}]")
    with pytest.raises(LookupError, match="home index 5 is out of range"):
        stage.check(load_scenario(path))
    path.write_text("name: x\nsteps: [{at: 1, home: home-nope, action: press_call}]")
    with pytest.raises(LookupError, match="no home with device id 'home-nope'"):
        stage.check(load_scenario(path))
    path.write_text("name: x\nsteps: [{at: 1, action: fire, building: b9}]")
    with pytest.raises(LookupError, match="no building 'b9'"):
        stage.check(load_scenario(path))
    assert stage.home(homes[1].device) is homes[1]
    assert stage.building(0) == "b1"
