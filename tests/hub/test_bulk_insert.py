"""`insert_rows` and `insert_tuples` write exactly what SQLAlchemy's own INSERT writes (SQLite's
fast path)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, create_engine, insert, text
from sqlalchemy.orm import Session

from hub.store.bulk import insert_rows, insert_tuples
from hub.store.timestamps import UtcDateTime

VALUES: list[Any] = [[], {}, [1, "二"], {"a": [], "b": {}}, None, "", 0, [[]], [{}]]


def test_rows_are_stored_as_core_stores_them(tmp_path: Path) -> None:
    meta = MetaData()
    tables = [
        Table(
            name,
            meta,
            Column("id", Integer, primary_key=True),
            Column("doc", JSON),
            Column("at", UtcDateTime),
            Column("name", String(8)),
        )
        for name in ("core", "bulk", "tuples")
    ]
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    meta.create_all(engine)
    at = datetime(2026, 12, 2, 8, 30, 1, 123456, tzinfo=UTC)
    rows = [{"id": i, "doc": v, "at": at, "name": f"n{i}"} for i, v in enumerate(VALUES)]
    with Session(engine) as session, session.begin():
        session.execute(insert(tables[0]), rows)
        insert_rows(session, tables[1], rows)
        insert_rows(session, tables[1], [{**r, "id": r["id"] + 100} for r in rows])  # kept
        # tuples in the table's order, in another order, and with no processed column
        in_order = ("id", "doc", "at", "name")
        insert_tuples(session, tables[2], in_order, [tuple(r.values()) for r in rows])
        shuffled = ("name", "at", "id", "doc")
        moved = [{**r, "id": r["id"] + 100} for r in rows]
        insert_tuples(session, tables[2], shuffled, [tuple(r[c] for c in shuffled) for r in moved])
        insert_tuples(session, tables[2], ("id", "name"), [(1000, "plain")])
    with engine.connect() as conn:
        core = conn.execute(text("SELECT id, doc, at, name FROM core ORDER BY id")).all()
        bulk = conn.execute(text("SELECT id, doc, at, name FROM bulk ORDER BY id")).all()
        tuples = conn.execute(text("SELECT id, doc, at, name FROM tuples ORDER BY id")).all()
    assert bulk[: len(core)] == core
    assert [r[1:] for r in bulk[len(core) :]] == [r[1:] for r in core]
    assert tuples[: 2 * len(core)] == bulk
    assert tuples[-1] == (1000, None, None, "plain")
    assert [r[1] for r in core][:2] == ["[]", "{}"]  # the raw text, as stored
    engine.dispose()
