"""Grafana dashboards and alert rules as code: `watchpost dashboards build|push|render`."""
