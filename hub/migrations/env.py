"""Alembic environment: run with the connection `Store.migrate()` passes in `attributes`."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from hub.store.schema import Base

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = config.attributes.get("connection")
if _connection is None:
    raise RuntimeError("run migrations through hub.store.Store.migrate(), not the alembic CLI")
_run(_connection)
