"""Small builders for Grafana dashboard JSON with raw InfluxQL targets (InfluxDB 1.x).

Every query filters with Grafana's `$timeFilter` and the dashboard's template variables;
time series group by `time($__interval)`. The datasource is the provisioned one
(`provisioning/datasources/watchpost.yaml`), referenced by its fixed uid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DATASOURCE = {"type": "influxdb", "uid": "watchpost-influxdb"}
SCHEMA_VERSION = 39

JSON = dict[str, Any]


def where(*conditions: str, grid: bool = True) -> str:
    """Return a WHERE clause with the site/grid variables and $timeFilter."""
    parts = ['"site" =~ /^$site$/']
    if grid:
        parts.append('"grid" =~ /^$grid$/')
    parts.extend(conditions)
    parts.append("$timeFilter")
    return "WHERE " + " AND ".join(parts)


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


def site_variables(*, device: bool = False) -> list[JSON]:
    """Return the site, grid (and device) variables every dashboard filters by."""
    out = [
        query_variable(
            "site", "小区 / Site", 'SHOW TAG VALUES FROM "device_status" WITH KEY = "site"'
        ),
        query_variable(
            "grid",
            "网格 / Grid",
            'SHOW TAG VALUES FROM "device_status" WITH KEY = "grid" WHERE "site" =~ /^$site$/',
            multi=True,
        ),
    ]
    if device:
        out.append(
            query_variable(
                "device",
                "设备 / Device",
                'SHOW TAG VALUES FROM "device_status" WITH KEY = "device" '
                'WHERE "site" =~ /^$site$/ AND "grid" =~ /^$grid$/',
                multi=True,
            )
        )
    return out


@dataclass
class Layout:
    """Place panels left to right in rows of 24 grid units, numbering them."""

    panels: list[JSON] = field(default_factory=list)
    x: int = 0
    y: int = 0
    row_height: int = 0

    def add(
        self,
        kind: str,
        title: str,
        targets: list[JSON],
        *,
        size: tuple[int, int] = (12, 8),
        description: str = "",
        unit: str | None = None,
        options: JSON | None = None,
        custom: JSON | None = None,
        time_from: str | None = None,
    ) -> JSON:
        """Append a panel; return it for further tweaks."""
        w, h = size
        if self.x + w > 24:
            self.x, self.y, self.row_height = 0, self.y + self.row_height, 0
        defaults: JSON = {"custom": custom or {}}
        if unit:
            defaults["unit"] = unit
        panel: JSON = {
            "id": len(self.panels) + 1,
            "type": kind,
            "title": title,
            "description": description,
            "datasource": DATASOURCE,
            "gridPos": {"x": self.x, "y": self.y, "w": w, "h": h},
            "targets": targets,
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": options or {},
        }
        if time_from:
            panel["timeFrom"] = time_from
        self.panels.append(panel)
        self.x += w
        self.row_height = max(self.row_height, h)
        return panel


def annotation(name: str, query: str, color: str, tags: str, text: str) -> JSON:
    """Return an InfluxQL annotation (markers on every time series panel)."""
    columns = {"tagsColumn": tags, "textColumn": text, "titleColumn": ""}
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
    title: str,
    description: str,
    layout: Layout,
    variables: list[JSON],
    annotations: list[JSON] | None = None,
) -> JSON:
    """Return a complete dashboard document."""
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["watchpost"],
        "timezone": "browser",
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-24h", "to": "now"},
        "timepicker": {},
        "annotations": {"list": annotations or []},
        "links": [],
        "templating": {"list": variables},
        "panels": layout.panels,
    }
