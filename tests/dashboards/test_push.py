"""`watchpost dashboards push` against a local stub of Grafana's HTTP API (not a real Grafana).

The stub (tests/dashboards/grafana_stub.py) records every request: the tests assert what was
written, that a second push writes nothing, and that one change on the server is put back.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from dashboards.alerts import GROUP, RULES
from dashboards.boards import DASHBOARDS
from dashboards.push import Change, PushError, push
from tests.dashboards.grafana_stub import grafana_stub
from watchpost_cli import app

TOKEN = "glsa_test-token"
UIDS = {
    "watchpost-overview",
    "watchpost-fire-station",
    "watchpost-device-health",
    "watchpost-wellbeing",
}


def _actions(changes: list[Change]) -> dict[str, str]:
    return {c.uid: c.action for c in changes}


def test_first_push_creates_everything_in_the_folder() -> None:
    with grafana_stub(TOKEN) as (url, grafana):
        changes = push(url, TOKEN)
        assert _actions(changes) == {
            "watchpost": "created",
            **dict.fromkeys(UIDS, "created"),
            **{uid: "created" for uid, *_ in RULES},
        }
        assert all(r.authorization == f"Bearer {TOKEN}" for r in grafana.requests)
        assert grafana.writes() == [
            ("POST", "/api/folders"),
            *[("POST", "/api/dashboards/db")] * len(DASHBOARDS),
            ("PUT", f"/api/v1/provisioning/folder/watchpost/rule-groups/{GROUP}"),
        ]
        assert set(grafana.dashboards) == UIDS
        for stored in grafana.dashboards.values():
            assert stored["meta"]["folderUid"] == "watchpost"
        overview = grafana.dashboards["watchpost-overview"]["dashboard"]
        assert overview["title"] == "社区总览"  # zh-CN by default
        group = grafana.rule_groups[("watchpost", GROUP)]
        assert group["interval"] == 30 and len(group["rules"]) == len(RULES)
        assert {r["folderUID"] for r in group["rules"]} == {"watchpost"}


def test_second_push_changes_nothing() -> None:
    with grafana_stub(TOKEN) as (url, grafana):
        push(url, TOKEN)
        before = len(grafana.writes())
        changes = push(url, TOKEN)
        assert {c.action for c in changes} == {"unchanged"}
        assert len(grafana.writes()) == before


def test_a_dashboard_edited_in_grafana_is_put_back() -> None:
    with grafana_stub(TOKEN) as (url, grafana):
        push(url, TOKEN)
        grafana.dashboards["watchpost-device-health"]["dashboard"]["panels"].pop()
        before = len(grafana.writes())
        changes = push(url, TOKEN)
        assert [c.uid for c in changes if c.action != "unchanged"] == ["watchpost-device-health"]
        assert grafana.writes()[before:] == [("POST", "/api/dashboards/db")]
        stored = grafana.dashboards["watchpost-device-health"]["dashboard"]
        assert stored["version"] == 2
        assert len(stored["panels"]) == len(DASHBOARDS["device-health"]("zh-CN")["panels"])


def test_switching_language_updates_titles() -> None:
    with grafana_stub(TOKEN) as (url, grafana):
        push(url, TOKEN)
        changes = push(url, TOKEN, lang="en")
        assert _actions(changes)["watchpost-overview"] == "updated"
        assert _actions(changes)["watchpost"] == "unchanged"  # one bilingual folder title
        assert grafana.dashboards["watchpost-overview"]["dashboard"]["title"] == (
            "Community overview"
        )
        rules = grafana.rule_groups[("watchpost", GROUP)]["rules"]
        assert "Fire not acknowledged in 60 s" in {r["title"] for r in rules}


def test_wrong_token_is_one_error_naming_the_step() -> None:
    with grafana_stub(TOKEN) as (url, grafana), pytest.raises(PushError, match="read folder"):
        push(url, "wrong")
    assert grafana.writes() == []


def test_cli_reports_what_changed() -> None:
    runner = CliRunner()
    with grafana_stub(TOKEN) as (url, grafana):
        first = runner.invoke(app, ["dashboards", "push", "--url", url, "--token", TOKEN])
        assert first.exit_code == 0, first.output
        assert "created   dashboard  watchpost-overview  社区总览" in first.output
        assert f"{1 + len(DASHBOARDS) + len(RULES)} changed, 0 unchanged" in first.output
        second = runner.invoke(
            app, ["dashboards", "push", "--url", url], env={"WATCHPOST_GRAFANA_TOKEN": TOKEN}
        )
        assert second.exit_code == 0, second.output
        assert "0 changed" in second.output
        bad = runner.invoke(app, ["dashboards", "push", "--url", url, "--token", "nope"])
        assert bad.exit_code == 1 and "push failed" in bad.output
        assert len(grafana.dashboards) == len(DASHBOARDS)
