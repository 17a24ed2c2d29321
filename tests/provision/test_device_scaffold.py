"""`watchpost config device`: a valid device YAML, a fresh 0600 credential, nothing on failure."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner

from protocol.device_config import load_device_config
from protocol.site_config import load_site
from watchpost_cli import app


def run(*args: str):
    return CliRunner().invoke(app, ["config", "device", *args])


def test_scaffolds_a_valid_device_with_a_fresh_credential(site_dir: Path, site_id: str) -> None:
    secrets = site_dir.parent / "secrets"
    result = run(
        "home-b2-305", "--site-dir", str(site_dir), "--building", "b2", "--household", "b2-201",
        "--location", "2号楼305 卧室", "--broker-url", "mqtts://hub.example.lan:8883",
        "--secrets", str(secrets),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    cfg = load_device_config(site_dir / "devices" / "home-b2-305.yaml")
    assert (cfg.site, cfg.grid, cfg.household) == (site_id, "grid-2", "b2-201")
    assert cfg.resident == "r-chen-shufen"  # the household's only resident
    assert cfg.location == "2号楼305 卧室"
    assert cfg.broker.username == "home-b2-305"
    assert cfg.broker.password_file == "/etc/watchpost/secrets/home-b2-305.pw"
    assert cfg.inputs.call_button is not None and cfg.inputs.call_button.pin == 17
    secret = secrets / "home-b2-305.pw"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert secret.read_text().strip() not in result.output
    assert len(load_site(site_dir).devices) == 8


def test_refuses_unknown_building_and_existing_device_leaving_nothing(site_dir: Path) -> None:
    secrets = site_dir.parent / "secrets"
    bad = run(
        "home-b9-101", "--site-dir", str(site_dir), "--building", "b9", "--secrets", str(secrets)
    )
    assert bad.exit_code == 1
    assert "building" in bad.output
    assert not (site_dir / "devices" / "home-b9-101.yaml").exists()
    again = run(
        "stair-b1", "--site-dir", str(site_dir), "--building", "b1", "--secrets", str(secrets)
    )
    assert again.exit_code == 1
    assert not (secrets / "stair-b1.pw").exists()
    wrong_household = run(
        "home-b1-999", "--site-dir", str(site_dir), "--building", "b1",
        "--household", "nope", "--secrets", str(secrets),
    )  # fmt: skip
    assert wrong_household.exit_code == 1
    assert "household" in wrong_household.output
    assert not (site_dir / "devices" / "home-b1-999.yaml").exists()
