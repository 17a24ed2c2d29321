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
from functools import lru_cache
from itertools import chain
from typing import Any, TypeVar

from sqlalchemy import Connection, Select, bindparam, inspect, select
from sqlalchemy.orm import Mapper, Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from hub.store import fast

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


M = TypeVar("M")


@lru_cache(maxsize=16)
def _by_key(mapper: Mapper[Any]) -> tuple[Select[Any], tuple[str, ...], tuple[str, ...]]:
    """A mapped class's columns by primary key: the statement, the attributes' names (in
    its order), the keys' names."""
    names = tuple(p.key for p in mapper.column_attrs)
    keys = tuple(c.name for c in mapper.primary_key)
    statement = select(*(p.columns[0] for p in mapper.column_attrs)).where(
        *(c == bindparam(f"k_{c.name}") for c in mapper.primary_key)
    )
    return statement, names, keys


def loaded(session: Session, model: type[M], key: tuple[Any, ...], lock: bool = False) -> M | None:
    """`Session.get(model, key)` as SQLite runs it, ~3x cheaper: the session's own object if
    it has one, else the row by a Core read (hub.store.fast), given to the session as loaded.

    The ORM's load of one row by primary key measured ~150 µs of ~215 here (2026-12-03), an
    SOS made two. Elsewhere (PostgreSQL), `Session.get` itself, with the row locked when
    `lock` (the device's lock, rules/order.py); SQLite has one writer, no row locks.
    """
    if session.get_bind().dialect.name != "sqlite":
        return session.get(model, key, with_for_update=True if lock else None)
    # A new row of `model` pending in the session is flushed first: then it is the session's.
    conn = core_for(session, model)
    own = session.identity_map.get(identity_key(model, key))
    if own is not None:
        return own
    statement, names, keys = _by_key(inspect(model))
    params = {f"k_{k}": v for k, v in zip(keys, key, strict=True)}
    row = fast.first(conn, statement, params)
    if row is None:
        return None
    obj = model(**dict(zip(names, row, strict=True)))
    make_transient_to_detached(obj)
    session.add(obj)
    return obj
