"""Core statements built once, run on SQLite past SQLAlchemy's per-execution work.

A Core `Connection.execute` of a cached statement costs ~90-120 µs here (its execution
context, parameter handling, result set-up: ~120 Python calls), where the driver itself takes
~10 µs. An SOS runs a dozen such statements (cProfile, 2026-12-03). For statements that are
module constants, this module compiles once per statement, dialect and set of parameter names
(the SQL, the parameters' order, their bind processors and the result columns' processors,
all from SQLAlchemy's own compiler and types) and then runs them on the session's DB-API
connection, inside the transaction SQLAlchemy began. Driver errors come out as SQLAlchemy's
(`IntegrityError` and the rest), so callers and the engine's retries see no difference.

Anything the shortcut cannot do exactly as SQLAlchemy would — another dialect (PostgreSQL),
a connection outside a transaction, expanding or literal-execute parameters, Python-side
column defaults of an INSERT, an engine with `before_cursor_execute` listeners (tests and the
bench watching the SQL) — goes through `Connection.execute` unchanged, with the same SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, Insert, Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable

Processor = Callable[[Any], Any]
Params = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class _Plan:
    """A statement compiled for one dialect and one set of parameter names."""

    statement: Executable
    sql: str
    construct: Callable[..., dict[str, Any]]
    names: tuple[str, ...]
    binds: tuple[tuple[int, Processor], ...]
    results: tuple[tuple[int, Processor], ...]


@lru_cache(maxsize=256)
def _plan(key: int, statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Plan | None:
    """Compile `statement` as SQLAlchemy's execute would; None when the shortcut cannot run it."""
    del key  # part of the cache key only: statements compare by identity
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
    if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
        return None  # Python-side defaults: SQLAlchemy's execution context computes them
    names = tuple(compiled.positiontup or ())
    binds = []
    for i, name in enumerate(names):
        bind = compiled.binds[name]
        if bind.expanding or bind.literal_execute:
            return None
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds.append((i, process))
    if isinstance(statement, Select):
        described = statement.column_descriptions
    elif isinstance(statement, Insert):
        described = statement.returning_column_descriptions
    else:
        described = []
    results = []
    for i, column in enumerate(described):
        process = column["type"].dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            results.append((i, process))
    return _Plan(
        statement, str(compiled), compiled.construct_params, names, tuple(binds), tuple(results)
    )


def _driver(conn: Connection, statement: Executable, params: Params) -> tuple[Any, _Plan] | None:
    """The DB-API connection and plan for the shortcut, or None: use SQLAlchemy."""
    dialect = conn.dialect
    if dialect.name != "sqlite" or not conn.in_transaction():
        return None
    if conn.dispatch.before_cursor_execute:
        return None  # someone watches the SQL (a test, the bench's count): as SQLAlchemy runs it
    plan = _plan(id(statement), statement, dialect, tuple(sorted(params)))
    if plan is None or plan.statement is not statement:
        return None
    return conn.connection.driver_connection, plan


def _execute(driver: sqlite3.Connection, plan: _Plan, params: Params) -> sqlite3.Cursor:
    values = plan.construct(params)
    ordered = [values[name] for name in plan.names]
    for i, process in plan.binds:
        ordered[i] = process(ordered[i])
    try:
        return driver.execute(plan.sql, ordered)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(plan.sql, ordered, exc, sqlite3.Error) from exc


def _row(plan: _Plan, row: tuple[Any, ...]) -> tuple[Any, ...]:
    if not plan.results:
        return row
    values = list(row)
    for i, process in plan.results:
        values[i] = process(values[i])
    return tuple(values)


def rows(conn: Connection, statement: Executable, params: Params | None = None) -> list[Any]:
    """Run `statement` (a module constant) and return its rows as tuples."""
    params = params or {}
    found = _driver(conn, statement, params)
    if found is None:
        return [tuple(r) for r in conn.execute(statement, dict(params))]
    driver, plan = found
    return [_row(plan, r) for r in _execute(driver, plan, params).fetchall()]


def first(conn: Connection, statement: Executable, params: Params | None = None) -> Any:
    """Run `statement` and return its first row as a tuple, or None."""
    params = params or {}
    found = _driver(conn, statement, params)
    if found is None:
        row = conn.execute(statement, dict(params)).first()
        return None if row is None else tuple(row)
    driver, plan = found
    row = _execute(driver, plan, params).fetchone()
    return None if row is None else _row(plan, row)


def scalar(conn: Connection, statement: Executable, params: Params | None = None) -> Any:
    """Run `statement` and return the first column of its first row, or None."""
    row = first(conn, statement, params)
    return None if row is None else row[0]


def run(conn: Connection, statement: Executable, params: Params | None = None) -> None:
    """Run a statement that returns no rows (an INSERT, an UPDATE)."""
    params = params or {}
    found = _driver(conn, statement, params)
    if found is None:
        conn.execute(statement, dict(params))
        return
    driver, plan = found
    _execute(driver, plan, params)


def returned(conn: Connection, statement: Executable, many: Sequence[Params]) -> list[Any]:
    """Run an INSERT … RETURNING once per row of `many`; the first returned column of each,
    in the rows' order."""
    if not many:
        return []
    found = _driver(conn, statement, many[0])
    if found is None or any(tuple(sorted(p)) != tuple(sorted(many[0])) for p in many):
        return list(conn.execute(statement, [dict(p) for p in many]).scalars().all())
    driver, plan = found
    out = []
    for params in many:
        row = _execute(driver, plan, params).fetchone()
        assert row is not None, "INSERT … RETURNING returned no row"
        out.append(_row(plan, row)[0])
    return out
