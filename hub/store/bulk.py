"""Insert many rows with one executemany, past SQLAlchemy's per-row parameter handling; match
a column against many values with one bound parameter (`among`).

On SQLite the rows go to the driver as tuples, through the same type processors SQLAlchemy
would apply (JSON, time). Its per-row handling (`construct_params`, the processors called
through each bind) was half the time of writing 100,000 households and residents, and a fifth
of a group commit of 200 `test` events (pyinstrument, 2026-12-02). The statement and its
processors are built once per table and set of columns. `insert_tuples` takes rows that are
tuples already (the registry import's): a table with no processed column (grids, buildings,
households, devices) passes them to the driver untouched. Elsewhere (PostgreSQL), Core's
executemany.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Dialect,
    String,
    Table,
    any_,
    bindparam,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

Row = dict[str, Any]
Processor = Callable[[Any], Any]


@lru_cache(maxsize=64)
def _statement(
    table: Table, columns: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[str, ...], tuple[int, ...] | None, tuple[tuple[int, Processor], ...]]:
    """The INSERT's SQL, its parameters' names in order, where each is in `columns` (None: in
    the same order), and the bind processors by position."""
    compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
    names = tuple(compiled.positiontup or ())  # the order of the statement's `?`s
    order = None if names == columns else tuple(columns.index(n) for n in names)
    processors = tuple(
        (i, _empty_known(process) if isinstance(table.c[name].type, JSON) else process)
        for i, name in enumerate(names)
        if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    )
    return str(compiled), names, order, processors


def _empty_known(process: Processor) -> Processor:
    """A JSON column's processor that answers an empty list or dict (most residents' conditions
    and contacts, most events' data) from its own answer, computed once, without serialising."""
    empty_list, empty_dict = process([]), process({})

    def known(value: Any) -> Any:
        if not value:
            if value.__class__ is list:
                return empty_list
            if value.__class__ is dict:
                return empty_dict
        return process(value)

    return known


def insert_rows(session: Session, table: Table, rows: Sequence[Row]) -> None:
    """INSERT `rows` (dicts with the same keys) into `table` in one executemany."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    if dialect.name != "sqlite":
        session.execute(insert(table), rows)
        return
    sql, names, _, processors = _statement(table, tuple(rows[0]), dialect)
    conn.exec_driver_sql(sql, _processed(([row[n] for n in names] for row in rows), processors))


def insert_tuples(
    session: Session, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """INSERT `rows` (tuples of `columns`' values) into `table` in one executemany. A table
    whose columns need no processor (most of the registry's) takes the tuples as they are."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    if dialect.name != "sqlite":
        session.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    sql, _, order, processors = _statement(table, columns, dialect)
    params: Sequence[tuple[Any, ...]] = rows
    if order is not None or processors:
        ordered = (list(row) if order is None else [row[i] for i in order] for row in rows)
        params = _processed(ordered, processors)
    conn.exec_driver_sql(sql, params)


def _processed(
    rows: Iterable[list[Any]], processors: tuple[tuple[int, Processor], ...]
) -> list[tuple[Any, ...]]:
    """The rows (values in the statement's order) as the driver takes them, each processed."""
    params = []
    for values in rows:
        for i, process in processors:
            values[i] = process(values[i])
        params.append(tuple(values))
    return params


def among(column: ColumnElement[Any], name: str, dialect: str) -> ColumnElement[bool]:
    """`column` is one of the values bound as `name` (`listed` makes them): one parameter
    however many values, so the statement is compiled once and not expanded per call.

    SQLite: `IN (SELECT value FROM json_each(?))` on a JSON array; 200 ids cost 0.4 ms a query
    here where `IN (?, ?, ...)` cost 1.0 (SQLAlchemy renders and binds each). PostgreSQL:
    `= ANY(%s)` on an array.
    """
    if dialect == "sqlite":
        values = func.json_each(bindparam(name, type_=String)).table_valued("value")
        return column.in_(select(values.c.value))
    return column == any_(bindparam(name, type_=ARRAY(String)))


def listed(values: Sequence[str], dialect: str) -> Any:
    """The value to bind for `among` on `dialect`."""
    return json.dumps(list(values)) if dialect == "sqlite" else list(values)
