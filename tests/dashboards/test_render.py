"""PNG pictures drawn from the dashboards' JSON and the scenario's data in a real influxd."""

from __future__ import annotations

import struct
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dashboards.boards import DASHBOARDS
from dashboards.macros import ALL, Range
from dashboards.render import draw, influx_runner
from dashboards.scenario import HOURS
from tests.dashboards.conftest import SITE, Community
from watchpost_cli import app

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", path
    width, height = struct.unpack(">II", head[16:24])
    return width, height


@pytest.mark.parametrize("name", list(DASHBOARDS))
def test_every_panel_is_drawn_with_data(community: Community, name: str, tmp_path: Path) -> None:
    board = DASHBOARDS[name]("zh-CN")
    rng = Range(community.end, timedelta(hours=HOURS), {"site": SITE, "grid": ALL, "device": ALL,
                                                       "hub": ALL})  # fmt: skip
    path = tmp_path / f"{name}.png"
    assert draw(board, influx_runner(community.server.url, community.db), rng, path) == []
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in board["panels"])
    assert _png_size(path) == (1920, round((rows * 0.3 + 0.7) * 100))
    assert path.stat().st_size > 50_000  # drawn data, not an empty grid


def test_cli_renders_english_from_a_given_influxdb(community: Community, tmp_path: Path) -> None:
    args = ["dashboards", "render", "--lang", "en", "--out", str(tmp_path)]
    args += ["--influx", community.server.url, "--database", community.db, "--site", SITE]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"dashboards-{n}-en.png" for n in DASHBOARDS
    )


def test_readme_pictures_exist() -> None:
    readme = (DOCS_IMG.parents[1] / "README.md").read_text(encoding="utf-8")
    for name in DASHBOARDS:
        assert f"docs/img/dashboards-{name}.png" in readme
        assert _png_size(DOCS_IMG / f"dashboards-{name}.png")[0] == 1920
