"""The systemd units shipped for the broker and the watchdog match the commands they run."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from watchpost_cli import app

ROOT = Path(__file__).resolve().parents[2] / "firmware-config"


def unit(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if "=" in line and line[0] != "#"]
    return dict(line.split("=", 1) for line in lines)


def test_broker_unit_runs_the_generated_config() -> None:
    service = unit(ROOT / "mosquitto" / "watchpost-broker.service")
    assert service["ExecStart"].endswith("mosquitto -c /var/lib/watchpost/broker/mosquitto.conf")
    assert service["Restart"] == "always" and service["ExecReload"] == "/bin/kill -HUP $MAINPID"


def test_watchdog_unit_reads_every_setting_from_the_environment() -> None:
    service = unit(ROOT / "install" / "watchpost-watchdog.service")
    assert service["ExecStart"].endswith("watchpost watchdog")
    comment = (ROOT / "install" / "watchpost-watchdog.service").read_text()
    help_text = CliRunner().invoke(app, ["watchdog", "--help"], terminal_width=200).output
    for var in (
        "SITE", "BROKER", "BROKER_CA_FILE", "BROKER_USERNAME", "BROKER_PASSWORD_FILE", "NOTIFY_FILE"
    ):  # fmt: skip
        assert f"WATCHPOST_WATCHDOG_{var}" in comment
        assert f"WATCHPOST_WATCHDOG_{var}" in help_text, var
