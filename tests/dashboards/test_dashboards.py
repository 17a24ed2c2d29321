"""Dashboards as code: valid Grafana JSON and provisioning, every query run on real data.

Every panel, annotation, template-variable and alert-rule query is expanded the way Grafana
would (`dashboards.macros`: `$timeFilter` as epoch milliseconds, `$__interval` from the range,
variables as one value, several `(a|b)` or All `.*`) and runs against a real influxd 1.6.7
holding six simulated hours of one community (`dashboards.scenario`).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards import build
from dashboards.alerts import RULES
from dashboards.boards import DASHBOARDS
from dashboards.i18n import LANGS, TEXT
from dashboards.macros import ALL, Range, Value
from dashboards.panels import DATASOURCE
from dashboards.scenario import (
    GAP_DEVICE,
    NOBODY_ON_DUTY_GRID,
    OFFLINE_AT_END,
    OLD_FIRMWARE,
    STOPPED_HUB,
    SUSPECT_DEVICE,
    UNACKED_FIRE_GRID,
)
from tests.dashboards.conftest import SITE, Community

ROOT = build.ROOT
CHOICES: dict[str, dict[str, Value]] = {
    "all": {"grid": ALL, "device": ALL, "hub": ALL},
    "one-grid": {"grid": "grid-2", "device": ALL, "hub": "hub-a"},
    "several": {
        "grid": ["grid-1", "grid-2"],
        "device": ["grid-2-smoke", "grid-2-call", "grid-2-motion", "grid-2-fall", "grid-1-call"],
        "hub": ["hub-a", STOPPED_HUB],
    },
}


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _files(lang: str = "zh-CN") -> list[Path]:
    return [build.dashboard_path(name, lang) for name in DASHBOARDS]


def _queries() -> list[Any]:
    """Return (title, query, panel time override, min interval) of every panel and annotation."""
    params = []
    for path in _files():
        dash = _load(path)
        for panel in dash["panels"]:
            for t in panel["targets"]:
                args = (panel["title"], t["query"], panel.get("timeFrom"), panel.get("interval"))
                params.append(pytest.param(*args, id=f"{path.stem}:{panel['id']}{t['refId']}"))
        for i, note in enumerate(dash["annotations"]["list"]):
            args = (note["name"], note["target"]["query"], None, None)
            params.append(pytest.param(*args, id=f"{path.stem}:annotation{i}"))
    return params


def test_committed_files_match_the_generator() -> None:
    assert build.stale() == [], "run `watchpost dashboards build` and commit the result"
    assert {p.name for p in (ROOT / "watchpost" / "zh-CN").glob("*.json")} == {
        f"{n}.json" for n in DASHBOARDS
    }


def test_stale_file_is_reported(tmp_path: Path) -> None:
    build.write(("en",), tmp_path)
    assert build.stale(("en",), tmp_path) == []
    path = build.dashboard_path("device-health", "en", tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace("Battery", "Batt"), encoding="utf-8")
    assert build.stale(("en",), tmp_path) == [path]
    assert build.write(("en",), tmp_path) == [path]


def test_every_text_in_both_languages() -> None:
    for key, (zh, en) in TEXT.items():
        assert zh.strip() and en.strip(), key
    for name in DASHBOARDS:
        zh, en = (_load(build.dashboard_path(name, lang)) for lang in LANGS)
        assert re.search(r"[\u4e00-\u9fff]", zh["title"]), zh["title"]
        for a, b in zip(zh["panels"], en["panels"], strict=True):
            assert re.search(r"[\u4e00-\u9fff]", a["title"]), a["title"]
            assert b["title"].isascii() and b["description"].isascii(), b["title"]
            assert a["targets"] == b["targets"] and a["gridPos"] == b["gridPos"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", list(DASHBOARDS))
def test_valid_grafana_dashboard(name: str, lang: str) -> None:
    dash = _load(build.dashboard_path(name, lang))
    assert re.fullmatch(r"[a-z0-9-]{1,40}", dash["uid"])
    ids = [p["id"] for p in dash["panels"]]
    assert ids and len(ids) == len(set(ids))
    names = {v["name"] for v in dash["templating"]["list"]}
    assert {"site", "grid"} <= names
    for note in dash["annotations"]["list"]:
        assert note["datasource"] == DATASOURCE and note["enable"] is True
        assert note["query"] == note["target"]["query"] and "$timeFilter" in note["query"]
    for panel in dash["panels"]:
        assert panel["type"] in {"stat", "timeseries", "table", "bargauge", "gauge"}
        pos = panel["gridPos"]
        assert pos["x"] + pos["w"] <= 24 and panel["datasource"] == DATASOURCE
        for t in panel["targets"]:
            assert t["rawQuery"] is True and t["datasource"] == DATASOURCE
            assert "$timeFilter" in t["query"], panel["title"]
            for var in re.findall(r"\$(\w+)", t["query"]):
                assert var in names | {"timeFilter", "__interval"}, (panel["title"], var)


def test_targets_are_drawn_as_thresholds() -> None:
    """60 s to acknowledge, 1 minute to respond, 3 minutes to arrive, 100 % coverage."""
    drawn: dict[str, set[float]] = {}
    for path in _files("en"):
        for panel in _load(path)["panels"]:
            steps = panel["fieldConfig"]["defaults"].get("thresholds", {}).get("steps", [])
            drawn[panel["title"]] = {s["value"] for s in steps if s["value"] is not None}
            if panel["type"] == "timeseries" and steps:
                style = panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]
                assert style["mode"] == "dashed", panel["title"]
    assert drawn["Time to acknowledge p50 / p90"] == {60}
    assert drawn["Time to acknowledge, each alarm"] == {60}
    assert drawn["Time to arrive p50 / p90"] == {180}
    assert drawn["Response start (acknowledged)"] == {60}
    assert drawn["Arrival on scene"] == {180}
    assert drawn["Care-round coverage by grid"] == {100}


def test_provisioning_matches_the_dashboards() -> None:
    sources = yaml.safe_load((ROOT / "provisioning/datasources/watchpost.yaml").read_text())
    (source,) = sources["datasources"]
    assert source["uid"] == DATASOURCE["uid"] and source["type"] == DATASOURCE["type"]
    assert source["jsonData"]["dbName"] == "watchpost"
    assert "password" not in source and "${" in source["secureJsonData"]["password"]
    providers = yaml.safe_load((ROOT / "provisioning/dashboards/watchpost.yaml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file" and provider["folderUid"] == "watchpost"
    for lang in LANGS:
        (group,) = yaml.safe_load(build.rules_path(lang).read_text(encoding="utf-8"))["groups"]
        assert group["folder"] == provider["folder"]
        assert [r["uid"] for r in group["rules"]] == [r[0] for r in RULES]
        for rule in group["rules"]:
            query, reduce, threshold = rule["data"]
            assert query["datasourceUid"] == DATASOURCE["uid"] and rule["condition"] == "C"
            assert reduce["model"]["expression"] == "A" and threshold["model"]["expression"] == "B"


@pytest.mark.parametrize("choice", list(CHOICES))
@pytest.mark.parametrize(("title", "query", "time_from", "min_interval"), _queries())
def test_every_panel_query_returns_rows(
    community: Community,
    title: str,
    query: str,
    time_from: str | None,
    min_interval: str | None,
    choice: str,
) -> None:
    series = community.run(query, CHOICES[choice], time_from=time_from, min_interval=min_interval)
    rows = [row for s in series for row in s["values"] if any(v is not None for v in row[1:])]
    assert rows, f"panel {title!r} shows nothing for {choice}:\n{query}"


@pytest.mark.parametrize("name", list(DASHBOARDS))
def test_template_variable_queries(community: Community, name: str) -> None:
    expected = {"site": SITE, "grid": "grid-2", "device": "grid-2-fall", "hub": STOPPED_HUB}
    for var in _load(build.dashboard_path(name, "zh-CN"))["templating"]["list"]:
        series = community.run(var["query"], {"grid": "grid-2"})
        assert expected[var["name"]] in {row[1] for s in series for row in s["values"]}


def _by(series: list[Any], tag: str) -> dict[str, list[Any]]:
    return {s["tags"][tag]: s["values"][-1][1:] for s in series}


def test_alert_rule_queries_find_what_the_scenario_broke(community: Community) -> None:
    queries = {uid: query for uid, _, query, *_ in RULES}
    unacked = _by(community.run(queries["watchpost-fire-unacked"], time_from="1h"), "grid")
    assert {g for g, (n,) in unacked.items() if n > 0} == {UNACKED_FIRE_GRID}
    on_duty = _by(community.run(queries["watchpost-nobody-on-duty"], time_from="1h"), "grid")
    assert {g for g, (n,) in on_duty.items() if n < 1} == {NOBODY_ON_DUTY_GRID}
    written = _by(community.run(queries["watchpost-hub-silent"], time_from="1h"), "hub")
    assert {h for h, (n,) in written.items() if n < 1} == {STOPPED_HUB}
    assert len(written) == 2


def _panel(name: str, title: str) -> tuple[str, str | None]:
    panel = next(
        p for p in _load(build.dashboard_path(name, "en"))["panels"] if p["title"] == title
    )
    return panel["targets"][0]["query"], panel.get("timeFrom")


def test_panel_figures_match_the_scenario(community: Community) -> None:
    def run(name: str, title: str, tag: str) -> dict[str, list[Any]]:
        query, time_from = _panel(name, title)
        return _by(community.run(query, CHOICES["all"], time_from=time_from), tag)

    assert run("community-overview", "Open alarms by class", "class") == {
        "call": [1], "fall": [1], "fire": [1], "inactivity": [1], "pre_alarm": [0],
        "trouble": [2],
    }  # fmt: skip
    (online,) = community.run(_panel("community-overview", "Devices online / offline")[0], ALL_V)
    assert online["values"][0][1:] == [13, 2]
    ack = run("community-overview", "Acknowledged within 60 s", "class")
    assert ack == {"call": [75], "fall": [pytest.approx(200 / 3)], "fire": [50]}
    assert run("community-overview", "Fire: on scene within 3 min", "class") == {"fire": [50]}
    assert run("community-overview", "Time to acknowledge p50 / p90", "class")["fire"] == [42, 75]
    assert set(run("device-health", "Offline devices", "device")) == OFFLINE_AT_END
    assert set(run("device-health", "Suspect devices (false alarms)", "device")) == {SUSPECT_DEVICE}
    fw = run("device-health", "Firmware versions", "device")
    assert {d for d, (v,) in fw.items() if v == OLD_FIRMWARE} == {
        d for d in fw if d.startswith("grid-3")
    }
    missing = run("device-health", "Missing event sequence numbers", "device")
    assert {d: v[0] for d, v in missing.items() if v[0]} == {GAP_DEVICE: 5}
    gaps = run("device-health", "Heartbeat gaps", "device")
    assert gaps["grid-2-fall"][0] == 180 and gaps["grid-1-call"][0] == 60
    coverage = run("resident-wellbeing", "Care-round coverage by grid", "grid")
    assert coverage == {"grid-1": [100], "grid-2": [100], "grid-3": [50]}


ALL_V: dict[str, Value] = CHOICES["all"]


def test_cli_build_check_passes_on_the_committed_files() -> None:
    from typer.testing import CliRunner

    from watchpost_cli import app

    result = CliRunner().invoke(app, ["dashboards", "build", "--check"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, ["dashboards", "build", "--lang", "fr", "--check"])
    assert result.exit_code == 2 and "choose one of zh-CN, en" in result.output


def test_variables_and_macros_expand_as_grafana_does() -> None:
    end = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    rng = Range(end, timedelta(hours=6), {"grid": ["g.1", "g/2"], "device": ALL, "site": "s-1"})
    query = '"grid" =~ /^$grid$/ AND "device" =~ /^$device$/ AND "site" =~ /^$site$/'
    expected = '"grid" =~ /^(g\\.1|g\\/2)$/ AND "device" =~ /^.*$/ AND "site" =~ /^s-1$/'
    assert rng.expand(query) == expected
    start = int((end - timedelta(hours=6)).timestamp() * 1000)
    assert rng.expand("$timeFilter") == f"time >= {start}ms and time <= {start + 21_600_000}ms"
    assert rng.expand("time($__interval)") == "time(30s)"  # 6 h / 1000 points, rounded up
    assert rng.expand("time($__interval)", min_interval="5m") == "time(5m)"
    assert rng.expand("time($__interval)", time_from="7d") == "time(15m)"
