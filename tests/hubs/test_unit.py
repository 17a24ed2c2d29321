"""The systemd unit shipped for several hubs runs `watchpost hub` with flags it has."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from hub.settings import build_settings
from watchpost_cli import app

INSTALL = Path(__file__).resolve().parents[2] / "firmware-config" / "install"
UNIT = INSTALL / "watchpost-hub@.service"


def test_hub_unit_restarts_at_once_and_names_each_hub() -> None:
    lines = [x for x in UNIT.read_text().splitlines() if "=" in x and not x.startswith("#")]
    service = dict(x.split("=", 1) for x in lines)
    assert service["Restart"] == "always" and service["RestartSec"] == "1"
    argv = service["ExecStart"].split()
    assert argv[1:3] == ["hub", "--config"]
    flags = [a for a in argv if a.startswith("--")]
    help_text = CliRunner().invoke(app, ["hub", "--help"], terminal_width=200).output
    for flag in flags:
        assert flag in help_text, flag
    instance = "hub-a"  # what systemd puts for %i
    values = dict(zip(argv[2::2], argv[3::2], strict=False))
    settings = build_settings(
        None, name=values["--name"].replace("%i", instance), share_group=values["--share-group"]
    )
    assert (settings.name, settings.share_group) == ("hub-a", "hubs")
