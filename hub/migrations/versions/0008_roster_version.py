"""The alarm engine keeps rosters in memory: `roster_version` counts every write to them.

A trigger on `sites`, `workers`, `roster_shifts` and `roster_exceptions` adds one to
`roster_version.n` on every INSERT, UPDATE and DELETE, whoever writes (the API, a registry
import in another process, another hub), so a hub's cached rosters (`hub.store.rosters.Rosters`)
are stale exactly when the number they were read under has moved.

Revision ID: 0008
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("sites", "workers", "roster_shifts", "roster_exceptions")
OPERATIONS = ("INSERT", "UPDATE", "DELETE")
BUMP = "UPDATE roster_version SET n = n + 1 WHERE id = 1"


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "roster_version",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("n", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
    )
    op.execute("INSERT INTO roster_version (id, n) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION roster_version_bump() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {BUMP}; RETURN NULL; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_roster_version AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION roster_version_bump()"
            )
        return
    # SQLite has row triggers only; these tables hold tens of rows a site, not thousands.
    for table in TABLES:
        for operation in OPERATIONS:
            op.execute(
                f"CREATE TRIGGER {table}_{operation.lower()}_roster_version AFTER {operation} "
                f"ON {table} BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_roster_version ON {table}")
        op.execute("DROP FUNCTION IF EXISTS roster_version_bump()")
    else:
        for table in TABLES:
            for operation in OPERATIONS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{operation.lower()}_roster_version")
    op.drop_table("roster_version")
