"""Dashboards as code: valid Grafana JSON, provisioning, and every query run on real data.

Grafana's macros are expanded the way Grafana would ($timeFilter → `time > now() - 1h`,
$__interval → `10s`, template variables → a concrete value or the "All" regex) and each
panel query runs against a real influxd holding a simulated hour of one community.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from dashboards import build
from dashboards.panels import DATASOURCE
from simulators.services import Influxd
from tests.dashboards.scenario import scenario_lines

ROOT = Path(__file__).resolve().parents[2] / "dashboards"
FILES = sorted((ROOT / "watchpost").glob("*.json"))
CONCRETE = {"grid": "grid-2", "device": "grid-2-fall"}
ALL = {"grid": ".*", "device": ".*"}


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _queries() -> list[Any]:
    params = []
    for path in FILES:
        dash = _load(path)
        for panel in dash["panels"]:
            for t in panel["targets"]:
                label = f"{path.stem}:{panel['id']}{t['refId']}"
                params.append(pytest.param(panel["title"], t["query"], id=label))
        for i, note in enumerate(dash["annotations"]["list"]):
            label = f"{path.stem}:annotation{i}"
            params.append(pytest.param(note["name"], note["target"]["query"], id=label))
    return params


def expand(query: str, values: dict[str, str]) -> str:
    """Replace Grafana macros and $variables as Grafana would for an InfluxQL datasource."""
    out = query.replace("$timeFilter", "time > now() - 1h").replace("$__interval", "10s")
    out = re.sub(r"\$\{?(\w+)\}?", lambda m: values[m.group(1)], out)
    assert not re.search(r"\$\{?\w", out), out
    return out


@pytest.fixture(scope="module")
def community(influxd_server: Influxd) -> Iterator[tuple[Influxd, str, str]]:
    """Fill a fresh database with the simulated hour; return (server, database, site)."""
    server, db, site = influxd_server, f"dash_{uuid.uuid4().hex[:10]}", "sunny-gardens"
    server.create_database(db)
    lines = scenario_lines(site, datetime.now(UTC))
    for start in range(0, len(lines), 5000):
        resp = httpx.post(
            f"{server.url}/write",
            params={"db": db, "precision": "ms"},
            content="\n".join(lines[start : start + 5000]).encode(),
        )
        assert resp.status_code == 204, resp.text
    yield server, db, site
    server.query(f'DROP DATABASE "{db}"')


def test_there_are_dashboards() -> None:
    assert {p.name for p in FILES} == {"community-overview.json", "device-health.json"}


def test_files_match_the_generator() -> None:
    rendered = build.render()
    assert {p.name: p.read_text(encoding="utf-8") for p in FILES} == rendered


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_valid_grafana_dashboard(path: Path) -> None:
    dash = _load(path)
    assert re.fullmatch(r"[a-z0-9-]{1,40}", dash["uid"])
    assert " / " in dash["title"]  # zh-CN / English
    assert isinstance(dash["schemaVersion"], int)
    assert dash["panels"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    names = {v["name"] for v in dash["templating"]["list"]}
    assert {"site", "grid"} <= names
    for note in dash["annotations"]["list"]:
        assert note["datasource"] == DATASOURCE and note["enable"] is True
        assert note["query"] == note["target"]["query"]
        assert "$timeFilter" in note["query"]
    for panel in dash["panels"]:
        assert panel["type"] in {"stat", "timeseries", "table", "bargauge", "state-timeline"}
        assert panel["title"] and set(panel["gridPos"]) == {"x", "y", "w", "h"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert panel["datasource"] == DATASOURCE
        assert panel["targets"], panel["title"]
        for t in panel["targets"]:
            assert t["rawQuery"] is True and t["datasource"] == DATASOURCE
            assert "$timeFilter" in t["query"], panel["title"]
            if "GROUP BY time(" in t["query"]:
                assert "time($__interval)" in t["query"], panel["title"]
            for var in re.findall(r"\$(\w+)", t["query"]):
                assert var in names | {"timeFilter", "__interval"}, var


def test_provisioning_matches_the_dashboards() -> None:
    sources = yaml.safe_load((ROOT / "provisioning/datasources/watchpost.yaml").read_text())
    (source,) = sources["datasources"]
    assert source["uid"] == DATASOURCE["uid"] and source["type"] == DATASOURCE["type"]
    assert source["jsonData"]["dbName"] == "watchpost"
    assert "password" not in source and "${" in source["secureJsonData"]["password"]
    providers = yaml.safe_load((ROOT / "provisioning/dashboards/watchpost.yaml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file" and provider["folderUid"] == "watchpost"


def _series(server: Influxd, db: str, query: str) -> list[Any]:
    answer = server.query(query, db=db)
    (result,) = answer["results"]  # type: ignore[misc]
    assert "error" not in result, f"{result['error']}\n{query}"
    series: list[Any] = result.get("series", [])
    return series


@pytest.mark.parametrize("values", [CONCRETE, ALL], ids=["one-grid", "all"])
@pytest.mark.parametrize(("title", "query"), _queries())
def test_every_panel_query_returns_data(
    community: tuple[Influxd, str, str], title: str, query: str, values: dict[str, str]
) -> None:
    server, db, site = community
    series = _series(server, db, expand(query, {"site": site, **values}))
    assert series, f"{title}: no series for\n{expand(query, {'site': site, **values})}"
    assert any(row for s in series for row in s["values"]), title


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_template_variable_queries(community: tuple[Influxd, str, str], path: Path) -> None:
    server, db, site = community
    for var in _load(path)["templating"]["list"]:
        series = _series(server, db, expand(var["query"], {"site": site, **CONCRETE}))
        values = {row[1] for s in series for row in s["values"]}
        expected = {"site": site, "grid": "grid-2", "device": "grid-2-fall"}[var["name"]]
        assert expected in values, var["name"]


def _panel_query(dashboard: str, title_start: str, ref: str = "A") -> str:
    dash = _load(ROOT / "watchpost" / f"{dashboard}.json")
    panel = next(p for p in dash["panels"] if p["title"].startswith(title_start))
    query: str = next(t["query"] for t in panel["targets"] if t["refId"] == ref)
    return query


def _by_tag(series: list[Any], tag: str) -> dict[str, list[Any]]:
    return {s["tags"][tag]: s["values"][0][1:] for s in series}


def test_panel_figures_match_the_scenario(community: tuple[Influxd, str, str]) -> None:
    server, db, site = community

    def run(dashboard: str, title: str, ref: str = "A") -> list[Any]:
        return _series(
            server, db, expand(_panel_query(dashboard, title, ref), {"site": site, **ALL})
        )

    open_alarms = _by_tag(run("community-overview", "未结束告警"), "class")
    assert open_alarms == {"call": [1], "fall": [1], "fire": [0], "trouble": [2]}
    (devices,) = run("community-overview", "设备在线")
    assert devices["values"][0][1:] == [10, 2]
    offline = _by_tag(run("community-overview", "离线设备"), "device")
    assert set(offline) == {"grid-2-fall", "grid-3-gateway"}
    low = _by_tag(run("community-overview", "低电量设备", "B"), "device")
    assert set(low) == {"grid-1-smoke", "grid-2-fall"}
    missing = _by_tag(run("device-health", "丢失事件"), "device")
    assert {d: v[0] for d, v in missing.items() if v[0]} == {"grid-1-call": 5}
    ack = _by_tag(run("community-overview", "确认用时中位数"), "class")
    assert ack == {"call": [42, 42], "fall": [42, 42], "fire": [42, 42]}
