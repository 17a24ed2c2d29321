"""Grafana alert rules for the wall screen, as a provisioning file (Grafana ≥ 9 unified alerting).

Each rule is one InfluxQL query (A), reduced to its last value (B) and compared with a
threshold (C); one alert instance per series, labelled with its tags:

- a fire raised more than 60 s ago and not acknowledged (per site and grid, last hour);
- a grid with nobody on duty (the last `on_duty` count of its grid workers, hub/duty.py);
- a hub that wrote nothing to InfluxDB for 2 minutes (`points_written` did not move; a hub
  whose `hub_stats` stopped altogether reads 0 as well, since it is still seen in the hour).
"""

from __future__ import annotations

from dashboards import queries as q
from dashboards.i18n import text
from dashboards.panels import DATASOURCE, JSON

GROUP = "watchpost-wall-screen"  # ASCII: it is part of the rule-group URL in the HTTP API
GROUP_INTERVAL_S = 30
RULES = (
    # (uid, key, query, operator, threshold, state when the query returns nothing)
    ("watchpost-fire-unacked", "rule.fire_unacked", q.FIRE_UNACKED, "gt", 0, "OK"),
    ("watchpost-nobody-on-duty", "rule.nobody_on_duty", q.NOBODY_ON_DUTY, "lt", 1, "OK"),
    # No hub_stats at all for an hour: every hub is silent.
    ("watchpost-hub-silent", "rule.hub_silent", q.HUB_WRITING, "lt", 1, "Alerting"),
)


def rule(uid: str, key: str, query: str, op: str, limit: float, no_data: str, lang: str) -> JSON:
    """Return one alert rule: query A, last value B, threshold C."""
    model = {"refId": "A", "query": query, "rawQuery": True, "resultFormat": "time_series"}
    return {
        "uid": uid,
        "title": text(key, lang),
        "condition": "C",
        "data": [
            {
                "refId": "A",
                "relativeTimeRange": {"from": 3600, "to": 0},
                "datasourceUid": DATASOURCE["uid"],
                "model": {**model, "intervalMs": 10_000, "maxDataPoints": 43_200},
            },
            {
                "refId": "B",
                "datasourceUid": "__expr__",
                "model": {"refId": "B", "type": "reduce", "expression": "A", "reducer": "last"},
            },
            {
                "refId": "C",
                "datasourceUid": "__expr__",
                "model": {
                    "refId": "C",
                    "type": "threshold",
                    "expression": "B",
                    "conditions": [{"evaluator": {"type": op, "params": [limit]}}],
                },
            },
        ],
        "noDataState": no_data,
        "execErrState": "Alerting",
        "for": "0s",
        "annotations": {"summary": text(key, lang), "description": text(f"{key}.desc", lang)},
        "labels": {"severity": "critical", "watchpost": "wall-screen"},
        "isPaused": False,
    }


def alert_rules(lang: str) -> JSON:
    """Return the alerting provisioning document in `lang`."""
    return {
        "apiVersion": 1,
        "groups": [
            {
                "orgId": 1,
                "name": GROUP,
                "folder": text("folder", lang),
                "interval": f"{GROUP_INTERVAL_S}s",
                "rules": [rule(*r, lang) for r in RULES],
            }
        ],
    }
