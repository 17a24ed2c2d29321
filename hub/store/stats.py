"""Response times per alarm class and grid, against the targets: acknowledged within 60 s,
on scene within 3 minutes (fire station at a fire; reported for every class)."""

from __future__ import annotations

import statistics
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import ColumnElement, select

from hub.store.schema import AlarmRow, TransitionRow
from hub.store.store import Store

ACK_TARGET_S = 60.0
ARRIVE_TARGET_S = 180.0


class ResponseStats(BaseModel):
    """How fast alarms of one class in one grid were acknowledged and reached."""

    cls: str
    grid: str | None
    alarms: int
    acknowledged: int
    ack_median_s: float | None
    ack_p90_s: float | None
    ack_within_target: float | None
    arrived: int
    arrive_median_s: float | None
    arrive_p90_s: float | None
    arrive_within_target: float | None
    ack_target_s: float = ACK_TARGET_S
    arrive_target_s: float = ARRIVE_TARGET_S


def _p(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _within(values: list[float], target: float) -> float | None:
    return sum(v <= target for v in values) / len(values) if values else None


def response_stats(
    store: Store, visible: ColumnElement[bool], since: datetime, until: datetime
) -> list[ResponseStats]:
    """Return response times of visible alarms raised in [since, until), per class and grid."""
    firsts: dict[str, dict[str, datetime]] = {}
    groups: dict[tuple[str, str | None], list[AlarmRow]] = {}
    with store.session() as s:
        rows = list(
            s.scalars(
                select(AlarmRow).where(
                    visible, AlarmRow.raised_at >= since, AlarmRow.raised_at < until
                )
            )
        )
        ids = [r.id for r in rows]
        for chunk in range(0, len(ids), 500):
            for t in s.scalars(
                select(TransitionRow)
                .where(
                    TransitionRow.alarm_id.in_(ids[chunk : chunk + 500]),
                    TransitionRow.to_state.in_(("acknowledged", "on_scene")),
                )
                .order_by(TransitionRow.id)
            ):
                firsts.setdefault(t.alarm_id, {}).setdefault(t.to_state, t.ts)
    for r in rows:
        groups.setdefault((r.cls, r.grid), []).append(r)
    out = []
    for (cls, grid), alarms in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        acks = [
            (firsts[a.id]["acknowledged"] - a.raised_at).total_seconds()
            for a in alarms
            if "acknowledged" in firsts.get(a.id, {})
        ]
        arrivals = [
            (firsts[a.id]["on_scene"] - a.raised_at).total_seconds()
            for a in alarms
            if "on_scene" in firsts.get(a.id, {})
        ]
        out.append(
            ResponseStats(
                cls=cls,
                grid=grid,
                alarms=len(alarms),
                acknowledged=len(acks),
                ack_median_s=statistics.median(acks) if acks else None,
                ack_p90_s=_p(acks, 0.9),
                ack_within_target=_within(acks, ACK_TARGET_S),
                arrived=len(arrivals),
                arrive_median_s=statistics.median(arrivals) if arrivals else None,
                arrive_p90_s=_p(arrivals, 0.9),
                arrive_within_target=_within(arrivals, ARRIVE_TARGET_S),
            )
        )
    return out
