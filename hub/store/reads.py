"""Core reads in an ORM transaction that flush only what they read.

SQLAlchemy's autoflush sends every pending change before any ORM query. On the SOS path that
was five flushes, ~40 % of its CPU, most of them of rows the query after them does not read
(a device's liveness row before a read of its alarms). And the ORM's part of a read by primary
key measured ~190 µs of a ~250 µs statement here (a Core execute ~60 µs); an SOS made a dozen.

`core_for` flushes first only if a pending change is a row of the model(s) the query reads
(and, with `matters`, one that can change its answer), then returns the session's connection
for a Core statement, which never autoflushes. What it leaves pending is flushed later in the
same transaction (at the end of every engine step), so the query sees all it would have seen.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

Models = type | tuple[type, ...]


def pending(session: Session, model: Models, matters: Callable[[Any], bool] | None = None) -> bool:
    """Return True if a change not yet flushed is a `model` row (for which `matters` is true)."""
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, model) and (matters is None or matters(obj)):
            return True
    return False


def core_for(
    session: Session, model: Models, matters: Callable[[Any], bool] | None = None
) -> Connection:
    """Return the session's connection for a Core read of `model`'s table, having flushed
    first only if a pending change can matter to it (see the module docstring)."""
    if pending(session, model, matters):
        session.flush()
    return session.connection()
