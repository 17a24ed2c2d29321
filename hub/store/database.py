"""Open the store's database (SQLite tuned for durability, or PostgreSQL) and migrate it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection

from hub.store.checkpoint import FALLBACK_FRAMES

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# An engine transaction reads, then writes. A deferred SQLite transaction that read before
# another writer committed cannot upgrade (SQLITE_BUSY, no retry), so writers take the
# write lock up front: the store sets this execution option on its write sessions.
IMMEDIATE = "watchpost_begin_immediate"
JOURNAL_LIMIT = 64 * 1024 * 1024
CACHE_KIB = 8 * 1024


def make_engine(url: str) -> Engine:
    """Create an SQLAlchemy engine; SQLite gets WAL, synchronous=FULL and foreign keys."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_pre_ping=False
        )
        event.listen(engine, "connect", lambda dbapi_conn, _record: sqlite_pragmas(dbapi_conn))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def sqlite_pragmas(dbapi_conn: Any) -> None:
    """Set the store's settings on a new sqlite3 connection (every connection of the store's
    engine; `bench_engine`'s bare baseline on its own)."""
    # Let SQLAlchemy's "begin" event issue BEGIN instead of pysqlite's implicit one.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: a committed alarm event survives power loss before the hub acks it.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    # Writers do not checkpoint the WAL: a thread of the store does (checkpoint.py), off the
    # alarm path; a writer does only if the WAL grows past the fallback. After the WAL starts
    # again, its file is cut back to JOURNAL_LIMIT.
    cur.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_FRAMES}")
    cur.execute(f"PRAGMA journal_size_limit={JOURNAL_LIMIT}")
    # 8 MiB of page cache a connection instead of 2: fewer index pages read back from the OS
    # (alone a small gain: 57.6 → 51.5 and 65.4 → 63.0 µs an event, `simulators.bench_wal`).
    cur.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(IMMEDIATE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def alembic_config(connection: Connection) -> Config:
    """Build an Alembic config that runs `hub/migrations` on `connection`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade_to_head(engine: Engine) -> None:
    """Apply every migration not yet applied (idempotent); parallel branches (one per feature, each
    revising the last shared revision) are all applied."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "heads")
