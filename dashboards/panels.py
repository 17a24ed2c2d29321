"""Small builders for Grafana dashboard JSON with raw InfluxQL targets (InfluxDB 1.x).

Every query filters with Grafana's `$timeFilter` and the dashboard's template variables;
time series group by `time($__interval)`. The datasource is the provisioned one
(`provisioning/datasources/watchpost.yaml`), referenced by its fixed uid. Every text comes
from `dashboards.i18n` in the layout's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dashboards.i18n import CLASSES, TEXT, text, unit

DATASOURCE = {"type": "influxdb", "uid": "watchpost-influxdb"}
SCHEMA_VERSION = 39

JSON = dict[str, Any]
Steps = list[tuple[float | None, str]]


def target(query: str, ref: str = "A", table: bool = False, alias: str | None = None) -> JSON:
    """Return a raw InfluxQL target."""
    out: JSON = {
        "refId": ref,
        "datasource": DATASOURCE,
        "rawQuery": True,
        "query": query,
        "resultFormat": "table" if table else "time_series",
    }
    if alias:
        out["alias"] = alias
    return out


def over_target(limit: float) -> Steps:
    """Return threshold steps for a time target: green up to `limit`, red above it."""
    return [(None, "green"), (limit, "red")]


def reach_target(limit: float) -> Steps:
    """Return threshold steps for a share to reach: red below `limit`, green at it."""
    return [(None, "red"), (limit, "green")]


def query_variable(name: str, label: str, query: str, *, multi: bool = False) -> JSON:
    """Return a template variable filled by an InfluxQL SHOW TAG VALUES query."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": query,
        "definition": query,
        "refresh": 2,
        "sort": 1,
        "multi": multi,
        "includeAll": multi,
        "allValue": ".*" if multi else None,
        "current": {},
        "options": [],
        "hide": 0,
    }


def variables(lang: str, *, device: bool = False, hub: bool = False) -> list[JSON]:
    """Return the site and grid variables (and device, hub) a dashboard filters by."""
    show = 'SHOW TAG VALUES FROM "device_status" WITH KEY = '
    out = [
        query_variable("site", text("var.site", lang), show + '"site"'),
        query_variable(
            "grid", text("var.grid", lang), show + '"grid" WHERE "site" =~ /^$site$/', multi=True
        ),
    ]
    if device:
        query = show + '"device" WHERE "site" =~ /^$site$/ AND "grid" =~ /^$grid$/'
        out.append(query_variable("device", text("var.device", lang), query, multi=True))
    if hub:
        query = 'SHOW TAG VALUES FROM "hub_stats" WITH KEY = "hub"'
        out.append(query_variable("hub", text("var.hub", lang), query, multi=True))
    return out


def class_names(lang: str) -> dict[str, str]:
    """Return the display name of every alarm class (and column) in `lang`."""
    names = {cls: text(f"{cls}_cls", lang) for cls in CLASSES}
    names.update({k[4:]: text(k, lang) for k in TEXT if k.startswith("col.")})
    return names


@dataclass
class Layout:
    """Place panels left to right in rows of 24 grid units, numbering them."""

    lang: str
    panels: list[JSON] = field(default_factory=list)
    x: int = 0
    y: int = 0
    row_height: int = 0

    def add(
        self,
        kind: str,
        key: str,
        targets: list[JSON],
        *,
        size: tuple[int, int] = (12, 8),
        units: str | None = None,
        steps: Steps | None = None,
        options: JSON | None = None,
        custom: JSON | None = None,
        time_from: str | None = None,
        interval: str | None = None,
        rename: bool = False,
    ) -> JSON:
        """Append a panel titled from the translation table; return it for further tweaks."""
        w, h = size
        if self.x + w > 24:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        defaults: JSON = {"custom": dict(custom or {})}
        if units:
            defaults["unit"] = unit(units, self.lang)
        if steps:
            defaults["thresholds"] = {
                "mode": "absolute",
                "steps": [{"value": v, "color": c} for v, c in steps],
            }
            if kind == "timeseries":  # draw the target as a dashed line across the graph
                defaults["custom"]["thresholdsStyle"] = {"mode": "dashed"}
        panel: JSON = {
            "id": len(self.panels) + 1,
            "type": kind,
            "title": text(key, self.lang),
            "description": text(f"{key}.desc", self.lang) if f"{key}.desc" in TEXT else "",
            "datasource": DATASOURCE,
            "gridPos": {"x": self.x, "y": self.y, "w": w, "h": h},
            "targets": targets,
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options or {},
        }
        if time_from:
            panel["timeFrom"] = time_from
        if interval:
            panel["interval"] = interval
        if rename:
            self._rename(panel)
        self.panels.append(panel)
        self.x += w
        self.row_height = max(self.row_height, h)
        return panel

    def _rename(self, panel: JSON) -> None:
        """Show alarm classes and known column names in the layout's language."""
        names = {k: v for k, v in class_names(self.lang).items() if k != v}
        panel["transformations"] = [
            {
                "id": "renameByRegex",
                "options": {"regex": f"^{k}( .*)?$", "renamePattern": v + "$1"},
            }
            for k, v in names.items()
        ]
        options = {k: {"text": v, "index": i} for i, (k, v) in enumerate(names.items())}
        panel["fieldConfig"]["defaults"]["mappings"] = [{"type": "value", "options": options}]


def annotation(name: str, query: str, color: str, tags: str, text_column: str) -> JSON:
    """Return an InfluxQL annotation (markers on every time series panel)."""
    columns = {"tagsColumn": tags, "textColumn": text_column, "titleColumn": ""}
    return {
        "name": name,
        "datasource": DATASOURCE,
        "enable": True,
        "iconColor": color,
        "query": query,
        **columns,
        # Grafana ≥ 9 reads `target`; older versions the legacy fields above.
        "target": {"refId": "Anno", "query": query, "rawQuery": True, **columns},
    }


def dashboard(
    uid: str,
    key: str,
    layout: Layout,
    variables: list[JSON],
    annotations: list[JSON] | None = None,
) -> JSON:
    """Return a complete dashboard document titled from the translation table."""
    return {
        "uid": uid,
        "title": text(key, layout.lang),
        "description": text(f"{key}.desc", layout.lang),
        "tags": ["watchpost", key],
        "timezone": "browser",
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "annotations": {"list": annotations or []},
        "links": [],
        "templating": {"list": variables},
        "panels": layout.panels,
    }
