"""An engine step's changed alarm and liveness rows written by Core, not the unit of work.

At the end of a one-input step (an SOS, a reply, a timer) the session holds a few changed
objects: the alarm whose state moved, the device's liveness row. SQLAlchemy's flush of them
(its unit of work: dependency sort, history, one UPDATE or INSERT each) was a quarter of an
SOS's CPU after the reads had moved to Core (pyinstrument, 2026-12-03). `write_by_core` writes
the column changes of such objects itself — an UPDATE of the changed columns by primary key,
or an INSERT of a new row — through `hub.store.fast`, then takes the objects out of the session
(`expunge`), so the flush after it has nothing of theirs to do. The step is over by then: the
transaction commits next and nothing reads those objects again.

The models given have plain columns only (no relationships, no `onupdate`, no version
column): what the flush would have written is exactly their columns' changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, Table, Update, bindparam, insert, inspect, update
from sqlalchemy.orm import InstanceState, Session

from hub.store import fast


@lru_cache(maxsize=64)
def _update(table: Table, keys: tuple[str, ...], columns: tuple[str, ...]) -> Update:
    """UPDATE `table` SET `columns` WHERE its primary key is bound as `k_<key>`."""
    return (
        update(table)
        .where(*(table.c[k] == bindparam(f"k_{k}") for k in keys))
        .values({c: bindparam(c) for c in columns})
    )


@lru_cache(maxsize=16)
def _insert(table: Table) -> Insert:
    return insert(table)


def _changes(state: InstanceState[Any]) -> dict[str, Any]:
    """The changed columns of a persistent object and their new values (its attributes'
    history, which never loads an attribute)."""
    changed: dict[str, Any] = {}
    for prop in state.mapper.column_attrs:
        added = state.attrs[prop.key].history.added
        if added:
            changed[prop.columns[0].key] = added[0]
    return changed


def write_by_core(session: Session, models: Iterable[type]) -> None:
    """Write the new and changed objects of `models` in `session` by Core, then expunge them."""
    kinds = tuple(models)
    conn = None
    for obj in [*session.new, *session.dirty]:
        if not isinstance(obj, kinds):
            continue
        state: InstanceState[Any] = inspect(obj)
        mapper = state.mapper
        table = mapper.local_table
        assert isinstance(table, Table)
        if state.pending:
            values = {
                prop.columns[0].key: state.dict[prop.key]
                for prop in mapper.column_attrs
                if prop.key in state.dict
            }
            conn = conn or session.connection()
            fast.run(conn, _insert(table), values)
        else:
            if state.key is None:
                continue  # left to the flush
            changed = _changes(state)
            if changed:
                keys = tuple(c.key for c in mapper.primary_key)
                params = {f"k_{k}": v for k, v in zip(keys, state.key[1], strict=True)}
                conn = conn or session.connection()
                fast.run(conn, _update(table, keys, tuple(sorted(changed))), params | changed)
        session.expunge(obj)
