"""`watchpost simulate` against a real Mosquitto, and `watchpost fall-eval`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from protocol.site_config import load_site
from provision.password_file import render
from simulators.community import CommunityOptions, generate_community
from simulators.services import Mosquitto
from watchpost_cli import app


@pytest.mark.integration
def test_simulate_plays_a_scenario(mosquitto: Mosquitto, site_id: str, tmp_path: Path) -> None:
    out = tmp_path / "site"
    args = ["simulate", "--broker", mosquitto.url, "--devices", "3", "--grids", "1",
            "--scenario", "smoke-test", "--site", site_id, "--config-out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "call" in result.output
    assert "low_battery" in result.output
    assert "smoke_clear" in result.output
    registry = load_site(out)
    assert registry.site.site == site_id
    assert len(registry.devices) == 4  # three homes and a stairwell unit


def test_simulate_explains_bad_input(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps: [{at: 1, home: 0, action: press_call, pin: 3}]")
    result = CliRunner().invoke(app, ["simulate", "--scenario", str(bad)])
    assert result.exit_code == 2
    assert "steps.0.press_call.pin: unknown field" in result.output
    result = CliRunner().invoke(app, ["simulate", "--scenario", "demo", "--devices", "2"])
    assert result.exit_code == 2
    assert "needs at least 6 homes" in result.output


def test_fall_eval_prints_the_table() -> None:
    args = ["fall-eval", "--days", "0", "--falls", "1", "--rate", "25", "--set", "held-out"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "fall: forward" in result.output and "slow slumps" in result.output
    assert "false alarms / device-day" in result.output
    assert "held-out" in result.output
    result = CliRunner().invoke(app, ["fall-eval", "--set", "nope"])
    assert result.exit_code == 2


@pytest.mark.integration
def test_simulate_on_a_secured_broker(
    mosquitto_factory: Callable[..., Mosquitto], site_id: str, tmp_path: Path
) -> None:
    registry = generate_community(2, 1, CommunityOptions(site=site_id))
    users = [d.device for d in registry.devices] + ["watcher"]
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for user in users:
        (secrets / f"{user}.pw").write_text(f"pw-{user}-{site_id}\n")
    passwd = tmp_path / "passwd"
    passwd.write_text(render({u: f"pw-{u}-{site_id}" for u in users}, {}))
    broker = mosquitto_factory(extra=f"allow_anonymous false\npassword_file {passwd}\n")
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\ntail_s: 3\nsteps: [{at: 0.5, home: 1, action: press_call}]\n")
    args = ["simulate", "--broker", broker.url, "--devices", "2", "--grids", "1", "--site",
            site_id, "--scenario", str(scenario), "--secrets", str(secrets),
            "--watch-user", "watcher"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"{registry.devices[2].device} #0 call" in result.output
    result = CliRunner().invoke(app, [*args[:-1], "nobody"])
    assert result.exit_code == 2
    assert "cannot read the password of nobody" in result.output
