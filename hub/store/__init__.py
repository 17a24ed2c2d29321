"""The hub's store: registry, events, alarms, transitions, deliveries and device liveness.

`Store(url)` opens SQLite (WAL, synchronous=FULL, foreign keys) or PostgreSQL;
`Store.migrate()` applies the Alembic migrations in `hub/migrations` programmatically.
"""

from hub.store.queues import DeadLetter, DeadLetterRow, OutboxRow, Pending
from hub.store.records import (
    AlarmRecord,
    DeliveryRecord,
    DeviceContext,
    DeviceStateRecord,
    EventRecord,
    TransitionRecord,
    WorkerRecord,
)
from hub.store.store import Store

__all__ = [
    "AlarmRecord",
    "DeadLetter",
    "DeadLetterRow",
    "DeliveryRecord",
    "DeviceContext",
    "DeviceStateRecord",
    "EventRecord",
    "OutboxRow",
    "Pending",
    "Store",
    "TransitionRecord",
    "WorkerRecord",
]
