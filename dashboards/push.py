"""Upload the dashboards and alert rules to a running Grafana over its HTTP API (grafana-client).

For a Grafana whose provisioning folder you cannot write to. Idempotent: what Grafana already
holds is compared with the generated documents first, and only what differs is written, so a
second run changes nothing and says so. Endpoints used (and nothing else):

    GET/POST/PUT /api/folders[/{uid}]                      the folder
    GET /api/dashboards/uid/{uid}, POST /api/dashboards/db   each dashboard
    GET/PUT /api/v1/provisioning/folder/{uid}/rule-groups/{group}   the alert rules

The token is a Grafana service-account token (Editor role, and alerting write for the rules).
Errors from grafana-client become one `PushError` naming the step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from dashboards.alerts import GROUP, GROUP_INTERVAL_S, alert_rules
from dashboards.boards import DASHBOARDS
from dashboards.i18n import DEFAULT_LANG, text
from dashboards.panels import JSON

FOLDER_UID = "watchpost"
SERVER_KEYS = {"id", "version"}  # set by Grafana on every save


class PushError(RuntimeError):
    """Grafana refused or could not be reached; the message names the step."""


@dataclass(frozen=True)
class Change:
    """What one push did to one object in Grafana."""

    kind: str  # folder | dashboard | alert rule
    uid: str
    title: str
    action: str  # created | updated | unchanged

    def __str__(self) -> str:
        return f"{self.action:9} {self.kind:10} {self.uid}  {self.title}"


def _get(step: str, call: Any, *args: Any) -> Any:
    """Return the object a GET finds, or None on 404."""
    try:
        return call(*args)
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return None
        raise PushError(f"{step}: {exc}") from exc
    except GrafanaException as exc:
        raise PushError(f"{step}: {exc}") from exc


def _do(step: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except GrafanaException as exc:
        raise PushError(f"{step}: {exc}") from exc


def _same(ours: JSON, theirs: JSON | None) -> bool:
    """Return whether Grafana's copy holds every key of ours with the same value."""
    if theirs is None:
        return False
    return all(theirs.get(k) == v for k, v in ours.items() if k not in SERVER_KEYS)


def _folder(api: GrafanaApi, uid: str, title: str) -> Change:
    found = _get("read folder", api.folder.get_folder, uid)
    if found is None:
        _do("create folder", api.folder.create_folder, title, uid=uid)
        return Change("folder", uid, title, "created")
    if found.get("title") != title:
        _do("rename folder", api.folder.update_folder, uid, title=title, overwrite=True)
        return Change("folder", uid, title, "updated")
    return Change("folder", uid, title, "unchanged")


def _dashboard(api: GrafanaApi, board: JSON, folder_uid: str) -> Change:
    uid, title = board["uid"], board["title"]
    found = _get(f"read dashboard {uid}", api.dashboard.get_dashboard, uid)
    in_folder = found is not None and found.get("meta", {}).get("folderUid") == folder_uid
    if in_folder and _same(board, found.get("dashboard")):
        return Change("dashboard", uid, title, "unchanged")
    body = {
        "dashboard": {**board, "id": None},
        "folderUid": folder_uid,
        "overwrite": True,
        "message": "watchpost dashboards push",
    }
    _do(f"save dashboard {uid}", api.dashboard.update_dashboard, body)
    return Change("dashboard", uid, title, "updated" if found else "created")


def _action(rule: JSON, theirs: dict[str, JSON]) -> str:
    found = theirs.get(rule["uid"])
    return "created" if found is None else "unchanged" if _same(rule, found) else "updated"


def _rules(api: GrafanaApi, lang: str, folder_uid: str) -> list[Change]:
    (group,) = alert_rules(lang)["groups"]
    ours = [{**r, "folderUID": folder_uid, "ruleGroup": GROUP, "orgID": 1} for r in group["rules"]]
    found = _get("read alert rules", api.alertingprovisioning.get_rule_group, folder_uid, GROUP)
    theirs = {r.get("uid"): r for r in (found or {}).get("rules", [])}
    changes = [Change("alert rule", r["uid"], r["title"], _action(r, theirs)) for r in ours]
    interval_same = found is not None and found.get("interval") == GROUP_INTERVAL_S
    if interval_same and all(c.action == "unchanged" for c in changes):
        return changes
    body = {"title": GROUP, "folderUid": folder_uid, "interval": GROUP_INTERVAL_S, "rules": ours}
    _do("save alert rules", api.alertingprovisioning.update_rule_group, folder_uid, GROUP, body)
    return changes


def push(
    url: str,
    token: str,
    lang: str = DEFAULT_LANG,
    folder_uid: str = FOLDER_UID,
    *,
    rules: bool = True,
    timeout: float = 10.0,
) -> list[Change]:
    """Bring the folder, every dashboard and (optionally) the alert rules up to date."""
    api = GrafanaApi.from_url(url, credential=token, timeout=timeout)
    changes = [_folder(api, folder_uid, text("folder", lang))]
    changes += [_dashboard(api, build(lang), folder_uid) for build in DASHBOARDS.values()]
    if rules:
        changes += _rules(api, lang, folder_uid)
    return changes
