"""Config files: the shipped examples validate; every mistake names the file, field and fix."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from protocol.config_file import load_model
from protocol.device_config import DeviceConfig, load_device_config
from protocol.errors import ConfigError
from protocol.site_config import load_site
from watchpost_cli import app

SITE = Path(__file__).parents[2] / "firmware-config" / "sites" / "sunflower"
BASE: dict[str, Any] = yaml.safe_load((SITE / "devices" / "home-b1-101.yaml").read_text())


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_model(DeviceConfig, "dev.yaml", data)
    assert str(info.value).startswith("dev.yaml: invalid configuration\n")
    return info.value.problems


def with_(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return data


def test_shipped_site_and_devices_validate() -> None:
    reg = load_site(SITE)
    assert reg.site.site == "sunflower"
    assert {d.device for d in reg.devices} >= {"home-b1-101", "stair-b1"}
    cfg = load_device_config(SITE / "devices" / "home-b2-201.yaml")
    assert cfg.inputs.smoke_analog is not None
    assert cfg.inputs.smoke_analog.threshold == 0.35


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            "brokr",
            {},
            "brokr: unknown field; remove it or fix its spelling (allowed keys: bridges, broker, "
            "building, device, fw, grid, household, inputs, location, outbox, outputs, resident, "
            "site, timing)",
        ),
        (
            "inputs.call_buton",
            {"pin": 17},
            "inputs.call_buton: unknown field; remove it or fix its spelling (allowed keys: "
            "accelerometer, activity, call_button, cancel_button, smoke_analog, smoke_contact)",
        ),
        (
            "device",
            "Home 101",
            "device: must be 1-64 lower-case letters, digits or '-' (e.g. home-b1-101); "
            "got 'Home 101'",
        ),
        (
            "broker.url",
            "http://hub:1883",
            "broker.url: must look like mqtt://host:port or mqtts://host:port; got 'http://hub:1883'",
        ),
        (
            "broker.password",
            "hunter2",
            "broker.password: secrets are never inline: use password_file (a path) or "
            "password_env (a variable)",
        ),
        (
            "inputs.accelerometer.rate_hz",
            10,
            "inputs.accelerometer.rate_hz: Input should be greater than or equal to 25; got 10",
        ),
        (
            "inputs.accelerometer.upright_axis",
            "w",
            "inputs.accelerometer.upright_axis: Input should be 'x', 'y' or 'z'; got 'w'",
        ),
        (
            "inputs.smoke_analog",
            {"threshold": 1.5},
            "inputs.smoke_analog.threshold: Input should be less than 1; got 1.5",
        ),
        (
            "timing.heartbeat_s",
            "often",
            "timing.heartbeat_s: Input should be a valid number, unable to parse string as a "
            "number; got 'often'",
        ),
        (
            "outputs.led",
            {"pin": 17},
            "(top level): Value error, pin 17 is used by both call_button and led; "
            "give each its own",
        ),
        (
            "inputs.activity",
            [{"name": "hall", "pin": 22}, {"name": "door", "pin": 27, "what": "door"}],
            "(top level): Value error, pin 27 is used by both cancel_button and activity "
            "door; give each its own",
        ),
    ],
)
def test_bad_device_config_names_field_and_fix(path: str, value: Any, expected: str) -> None:
    assert problems(with_(path, value)) == [expected]


def test_missing_required_field_says_what_it_is() -> None:
    data = {k: v for k, v in BASE.items() if k != "grid"}
    assert problems(data) == ["grid: required field is missing (Grid id: the grid worker's patch)"]


def test_unreadable_and_unparsable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read file: No such file or directory"):
        load_device_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("device: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: invalid configuration\n  - not valid YAML"):
        load_device_config(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="top level must be a mapping of field: value"):
        load_device_config(listy)


def test_site_cross_references_are_checked(tmp_path: Path) -> None:
    site = tmp_path / "sunflower"
    shutil.copytree(SITE, site)
    dev = site / "devices" / "home-b1-101.yaml"
    data = yaml.safe_load(dev.read_text())
    data["grid"] = "grid-2"
    data["resident"] = "r-nobody"
    dev.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(ConfigError) as info:
        load_site(site)
    assert info.value.path == str(dev)
    assert info.value.problems == [
        "grid: 'grid-2' but building b1 is in 'grid-1'",
        "resident: 'r-nobody' is not in site.yaml residents",
    ]


def test_site_yaml_references_must_exist(tmp_path: Path) -> None:
    site = tmp_path / "s"
    shutil.copytree(SITE, site)
    text = (
        (site / "site.yaml").read_text().replace("grid: grid-3, address", "grid: grid-9, address")
    )
    (site / "site.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_site(site)
    assert info.value.problems == [
        "(top level): Value error, building b3: grid 'grid-9' is not defined in grids"
    ]


def test_cli_validate_reports_and_exits_nonzero(tmp_path: Path) -> None:
    bad = tmp_path / "dev.yaml"
    bad.write_text(yaml.safe_dump(with_("device", "BAD")))
    runner = CliRunner()
    ok = runner.invoke(app, ["config", "validate", str(SITE)])
    assert ok.exit_code == 0, ok.output
    assert "ok   " in ok.output
    assert "(site sunflower, 7 devices)" in ok.output
    res = runner.invoke(app, ["config", "validate", str(bad)])
    assert res.exit_code == 1
    assert "device: must be 1-64 lower-case letters" in res.output
