"""The durable outbox: messages written to SQLite before they are published, removed on PUBACK.

Guarantees (see docs/edge.md):

* An event is committed with ``synchronous=FULL`` in WAL mode before `add_event` returns, so a
  power cut after the LED says "sending" cannot lose it.
* Event ``seq`` numbers come from a counter stored in the same file and bumped in the same
  transaction as the insert: monotonically increasing across restarts, no reuse.
* `peek` returns events first (by seq), then telemetry (oldest first).
* Bounds: telemetry beyond ``max_telemetry`` drops its oldest rows. When events reach
  ``max_events`` all telemetry is dropped, then the oldest *routine* events (test, fault, ...);
  life-safety events (call, cancel, fall, smoke, smoke_clear, inactivity) are never dropped or
  refused: the outbox grows past the bound and logs CRITICAL.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

LIFE_SAFETY: frozenset[str] = frozenset(
    {"call", "cancel", "fall", "smoke", "smoke_clear", "inactivity"}
)
"""Event kinds the outbox never drops, even past `max_events`."""

_ROUTINE_OLDEST = (
    "SELECT id FROM outbox WHERE cls = 'event' AND kind NOT IN "  # noqa: S608 - placeholders only
    f"({','.join('?' * len(LIFE_SAFETY))}) ORDER BY id LIMIT ?"
)

MessageClass = Literal["event", "telemetry"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    cls TEXT NOT NULL,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    seq INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_cls ON outbox (cls, id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS unconfirmed (
    event_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Unconfirmed:
    """A resident alarm the hub has not confirmed yet, kept to be sent again."""

    event_id: str
    kind: str
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Pending:
    """One stored message waiting for the broker."""

    id: int
    cls: MessageClass
    kind: str
    topic: str
    payload: bytes
    seq: int | None

    @property
    def qos(self) -> int:
        """Return the MQTT QoS: 1 for events, 0 for telemetry."""
        return 1 if self.cls == "event" else 0


class Outbox:
    """A SQLite-backed queue of events and telemetry; one per device."""

    def __init__(self, path: str | Path, *, max_events: int, max_telemetry: int) -> None:
        self.path = Path(path)
        self.max_events = max_events
        self.max_telemetry = max_telemetry
        self.dropped_telemetry = 0
        self.dropped_events = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._events = self._count("event")
        self._telemetry = self._count("telemetry")

    def close(self) -> None:
        """Close the database file."""
        self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def pending_events(self) -> int:
        """Return how many events wait for a PUBACK."""
        return self._events

    @property
    def pending_telemetry(self) -> int:
        """Return how many telemetry messages wait to be sent."""
        return self._telemetry

    @property
    def last_seq(self) -> int:
        """Return the seq of the newest event ever stored (-1 if none)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
        return int(row[0]) if row else -1

    def _count(self, cls: MessageClass) -> int:
        return int(
            self._db.execute("SELECT count(*) FROM outbox WHERE cls = ?", (cls,)).fetchone()[0]
        )

    def add_event(
        self,
        topic: str,
        kind: str,
        payload_for: Callable[[int], bytes],
        *,
        confirm_id: str | None = None,
    ) -> int:
        """Store an event built by `payload_for(seq)` durably (fsync) and return its seq.

        With `confirm_id` it is also kept, in the same transaction, until `confirmed()`: the hub,
        not the broker's PUBACK, says when a resident alarm has arrived.
        """
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._make_room_for_event(kind)
            seq = self.last_seq + 1
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('seq', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (seq,),
            )
            payload = payload_for(seq)
            self._db.execute(
                "INSERT INTO outbox (cls, kind, topic, payload, seq) VALUES ('event', ?, ?, ?, ?)",
                (kind, topic, payload, seq),
            )
            if confirm_id is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO unconfirmed (event_id, kind, topic, payload) "
                    "VALUES (?, ?, ?, ?)",
                    (confirm_id, kind, topic, payload),
                )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            self._events = self._count("event")
            self._telemetry = self._count("telemetry")
            raise
        self._events += 1
        return seq

    def unconfirmed(self) -> list[Unconfirmed]:
        """Return the alarms kept until the hub confirms them, oldest first."""
        rows = self._db.execute(
            "SELECT event_id, kind, topic, payload FROM unconfirmed ORDER BY rowid"
        ).fetchall()
        return [Unconfirmed(r[0], r[1], r[2], bytes(r[3])) for r in rows]

    def resend(self, alarm: Unconfirmed) -> int:
        """Queue a kept alarm again, byte for byte (same id: the hub sees a duplicate)."""
        return self.add_event(alarm.topic, alarm.kind, lambda _seq: alarm.payload)

    def confirmed(self) -> int:
        """Forget every kept alarm (the hub answered); return how many there were."""
        return self._db.execute("DELETE FROM unconfirmed").rowcount

    def _make_room_for_event(self, kind: str) -> None:
        if self._events < self.max_events:
            return
        if self._telemetry:
            self._drop_telemetry(self._telemetry)
        over = self._events - self.max_events + 1
        rows = self._db.execute(_ROUTINE_OLDEST, (*sorted(LIFE_SAFETY), over)).fetchall()
        if rows:
            self._db.executemany("DELETE FROM outbox WHERE id = ?", rows)
            self._events -= len(rows)
            self.dropped_events += len(rows)
            log.error(
                "outbox full (%d events): dropped %d oldest routine event(s) to keep %s",
                self.max_events,
                len(rows),
                kind,
            )
        if self._events >= self.max_events:
            log.critical(
                "outbox holds %d life-safety events (bound %d); storing %s beyond the bound "
                "rather than lose it — the broker has been unreachable for a long time",
                self._events,
                self.max_events,
                kind,
            )

    def add_telemetry(self, topic: str, payload: bytes) -> bool:
        """Store a telemetry message (no fsync); drop the oldest past the bound; False if off."""
        if self.max_telemetry <= 0:
            self.dropped_telemetry += 1
            return False
        self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            self._db.execute("BEGIN IMMEDIATE")
            over = self._telemetry - self.max_telemetry + 1
            if over > 0:
                self._drop_telemetry(over)
            self._db.execute(
                "INSERT INTO outbox (cls, kind, topic, payload) VALUES ('telemetry', '', ?, ?)",
                (topic, payload),
            )
            self._db.execute("COMMIT")
        finally:
            self._db.execute("PRAGMA synchronous=FULL")
        self._telemetry += 1
        return True

    def _drop_telemetry(self, count: int) -> None:
        self._db.execute(
            "DELETE FROM outbox WHERE id IN "
            "(SELECT id FROM outbox WHERE cls = 'telemetry' ORDER BY id LIMIT ?)",
            (count,),
        )
        self._telemetry -= count
        self.dropped_telemetry += count
        log.warning("outbox: dropped %d oldest telemetry message(s) to stay bounded", count)

    def peek(self, limit: int, exclude: Iterable[int] = ()) -> list[Pending]:
        """Return up to `limit` messages not in `exclude`: events by seq, then telemetry."""
        skip = set(exclude)
        out: list[Pending] = []
        for cls in ("event", "telemetry"):
            rows = self._db.execute(
                "SELECT id, cls, kind, topic, payload, seq FROM outbox WHERE cls = ? "
                "ORDER BY id LIMIT ?",
                (cls, limit + len(skip)),
            )
            for row in rows:
                if row[0] not in skip:
                    out.append(Pending(row[0], row[1], row[2], row[3], bytes(row[4]), row[5]))
                if len(out) >= limit:
                    return out
        return out

    def remove(self, message: Pending) -> None:
        """Delete a message the broker acknowledged (a lost delete only means a duplicate)."""
        self._db.execute("PRAGMA synchronous=NORMAL")
        try:
            cur = self._db.execute("DELETE FROM outbox WHERE id = ?", (message.id,))
        finally:
            self._db.execute("PRAGMA synchronous=FULL")
        if cur.rowcount:
            if message.cls == "event":
                self._events -= 1
            else:
                self._telemetry -= 1
