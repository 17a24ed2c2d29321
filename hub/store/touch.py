"""Routine heartbeats written in bulk (`Store.touch_devices`; docs/hub.md, "Liveness in memory").

100,000 devices heartbeating every 30 s are 3,333 rows a second to write. Per chunk of devices
of one site: one read of which of them the store has online and the device time (`ts`) of the
status it recorded (that field alone, not the whole JSON), then two executemany UPDATEs: last
seen and status where the heartbeat's status is the newer (by the device's clock), last seen
alone where it is not. Last seen only moves forward: the UPDATE keeps the later of the two.

On SQLite the UPDATEs go to the driver as tuples: SQLAlchemy's per-row parameter handling was
most of the cost (74 µs a device with Core's executemany and a read of every column, 2026-12-02;
see docs/bench.md). The status is written as pydantic serialises it (`model_dump_json`), the
same JSON document SQLAlchemy's JSON type would write. PostgreSQL takes Core's executemany.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, Update, bindparam, case, or_, select, update
from sqlalchemy.orm import Session

from hub.store.schema import DeviceStateRow
from protocol.messages import Status

Key = tuple[str, str]
Heartbeat = tuple[str, str, datetime, Status]
"""(site, device, when the hub took it, the status)."""
CHUNK = 500
"""Devices per read (SQLite allows 32,766 variables a statement)."""

_STATE = DeviceStateRow.metadata.tables["device_state"]
_AT = bindparam("at", type_=_STATE.c.last_seen.type)
_LATER = case(
    (or_(_STATE.c.last_seen.is_(None), _STATE.c.last_seen < _AT), _AT), else_=_STATE.c.last_seen
)
_WHERE = (_STATE.c.site == bindparam("k_site"), _STATE.c.device == bindparam("k_device"))
_SEEN_AND_STATUS = (
    update(_STATE).where(*_WHERE).values(last_seen=_LATER, last_status=bindparam("status"))
)
_SEEN_ONLY = update(_STATE).where(*_WHERE).values(last_seen=_LATER)


def touch(session: Session, heartbeats: Iterable[Heartbeat]) -> list[Key]:
    """Write `heartbeats` (the latest of each device wins); return the devices the store does
    not have online, whose heartbeats were not written (the engine must see their next status)."""
    latest: dict[Key, tuple[datetime, Status]] = {}
    for site, device, at, status in heartbeats:
        key = (site, device)
        had = latest.get(key)
        if had is None or at > had[0]:
            latest[key] = (at, status)
    sites: dict[str, list[str]] = {}
    for site, device in sorted(latest):
        sites.setdefault(site, []).append(device)
    stale: list[Key] = []
    both: list[tuple[str, str, datetime, Status]] = []
    seen_only: list[tuple[str, str, datetime]] = []
    recorded_ts = _STATE.c.last_status["ts"].as_string()
    for site, devices in sites.items():
        for i in range(0, len(devices), CHUNK):
            part = devices[i : i + CHUNK]
            query = select(_STATE.c.device, recorded_ts).where(
                _STATE.c.site == site, _STATE.c.device.in_(part), _STATE.c.online.is_(True)
            )
            recorded: dict[str, str | None] = dict(session.execute(query).all())
            for device in part:
                if device not in recorded:
                    stale.append((site, device))
                    continue
                at, status = latest[(site, device)]
                if _newer(status, recorded[device]):
                    both.append((site, device, at, status))
                else:
                    seen_only.append((site, device, at))
    _write(session, both, seen_only)
    return stale


def _newer(status: Status, recorded_ts: str | None) -> bool:
    """True if `status` is at least as new (by the device's clock) as the recorded one's `ts`."""
    if recorded_ts is None:
        return True
    try:
        return status.ts >= datetime.fromisoformat(recorded_ts)
    except (TypeError, ValueError):
        return True


def _write(
    session: Session,
    both: Sequence[tuple[str, str, datetime, Status]],
    seen_only: Sequence[tuple[str, str, datetime]],
) -> None:
    conn = session.connection()
    dialect = conn.dialect
    if dialect.name != "sqlite":
        if both:
            rows = [
                {"k_site": s, "k_device": d, "at": at, "status": st.model_dump(mode="json")}
                for s, d, at, st in both
            ]
            session.execute(_SEEN_AND_STATUS, rows)
        if seen_only:
            session.execute(
                _SEEN_ONLY, [{"k_site": s, "k_device": d, "at": at} for s, d, at in seen_only]
            )
        return
    at_text = _AT.type.bind_processor(dialect)  # UtcDateTime: aware UTC → SQLite's text
    assert at_text is not None
    _driver_many(
        conn,
        _SEEN_AND_STATUS,
        [
            {"k_site": s, "k_device": d, "at": at_text(at), "status": st.model_dump_json()}
            for s, d, at, st in both
        ],
    )
    _driver_many(
        conn,
        _SEEN_ONLY,
        [{"k_site": s, "k_device": d, "at": at_text(at)} for s, d, at in seen_only],
    )


def _driver_many(conn: Connection, statement: Update, rows: list[dict[str, Any]]) -> None:
    """Run `statement` once per row, the rows' values (processed already) passed as tuples."""
    if rows:
        sql, names = _compiled(statement, conn.dialect)
        conn.exec_driver_sql(sql, [tuple(row[n] for n in names) for row in rows])


@lru_cache(maxsize=4)
def _compiled(statement: Update, dialect: Dialect) -> tuple[str, tuple[str, ...]]:
    """The statement's SQL and its parameters' names in the order of its `?`s."""
    compiled = statement.compile(dialect=dialect)
    return str(compiled), tuple(compiled.positiontup or ())
