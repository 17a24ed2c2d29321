"""InfluxDB 1.x set-up: database, retention policies and 1-minute downsampling.

Raw points go to the default retention policy (`watchpost_raw`, 90 days by default);
continuous queries roll them up every minute into `watchpost_1y` under the same measurement
names: `telemetry` (mean_<reading>), `event` and `alarm` (`count`), `device_status`
(`online_ratio`, `online_min`).
"""

from __future__ import annotations

from hub.influx.settings import InfluxSettings

# Re-run each CQ over the last 10 minutes so points that arrive a little late are rolled up.
RESAMPLE = "RESAMPLE EVERY 1m FOR 10m"


def quote_ident(name: str) -> str:
    """Return an InfluxQL identifier in double quotes."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def rollup_selects(settings: InfluxSettings) -> dict[str, str]:
    """Return the rollup SELECT … INTO statements keyed by continuous-query name."""
    db = quote_ident(settings.database)
    raw = f"{db}.{quote_ident(settings.raw_retention_policy)}"
    out = f"{db}.{quote_ident(settings.downsampled_retention_policy)}"
    # Identifiers are quoted by quote_ident; the rest is constant, so S608 does not apply.
    selects = {
        "wp_telemetry_1m": ("mean(*)", "telemetry"),
        "wp_event_1m": ('count("seq") AS "count"', "event"),
        "wp_alarm_1m": (
            'count("alarm_id") AS "count", '
            'max("seconds_since_raised") AS "max_seconds_since_raised"',
            "alarm",
        ),
        "wp_status_1m": (
            'mean("online") AS "online_ratio", min("online") AS "online_min"',
            "device_status",
        ),
    }
    return {
        name: f"SELECT {fields} INTO {out}.{m} FROM {raw}.{m}"  # noqa: S608
        for name, (fields, m) in selects.items()
    }


def setup_statements(settings: InfluxSettings) -> list[str]:
    """Return the idempotent InfluxQL statements that prepare a 1.x database."""
    db = quote_ident(settings.database)
    raw = quote_ident(settings.raw_retention_policy)
    down = quote_ident(settings.downsampled_retention_policy)
    statements = [
        f"CREATE DATABASE {db}",
        f"CREATE RETENTION POLICY {raw} ON {db} DURATION {settings.raw_retention} "
        "REPLICATION 1 DEFAULT",
        f"ALTER RETENTION POLICY {raw} ON {db} DURATION {settings.raw_retention} DEFAULT",
        f"CREATE RETENTION POLICY {down} ON {db} DURATION {settings.downsampled_retention} "
        "REPLICATION 1",
        f"ALTER RETENTION POLICY {down} ON {db} DURATION {settings.downsampled_retention}",
    ]
    for name, select in rollup_selects(settings).items():
        # A CQ cannot be altered; drop and re-create it so a changed setting takes effect.
        statements.append(f"DROP CONTINUOUS QUERY {quote_ident(name)} ON {db}")
        statements.append(
            f"CREATE CONTINUOUS QUERY {quote_ident(name)} ON {db} {RESAMPLE} "
            f"BEGIN {select} GROUP BY time(1m), * END"
        )
    return statements


def rollup_statements(settings: InfluxSettings, start_ms: int, end_ms: int) -> list[str]:
    """Return statements that roll up [start_ms, end_ms) by hand, e.g. after a back-fill."""
    start = (start_ms // 60_000) * 60_000
    end = (end_ms // 60_000 + 1) * 60_000
    where = f"WHERE time >= {start}ms AND time < {end}ms"
    return [
        f"{select} {where} GROUP BY time(1m), *" for select in rollup_selects(settings).values()
    ]
