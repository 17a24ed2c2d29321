"""Tables of the people's side: user accounts, their tokens, the audit log, rosters, care rounds.

Kept apart from the alarm tables (`schema.py`): a registry re-import never touches these, so
accounts, shifts and visit plans survive it and every hub restart.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Index, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.schema import Base
from hub.store.timestamps import UtcDateTime


class UserRow(Base):
    """A person who logs in (or a service account); a worker account names its registry entry."""

    __tablename__ = "users"
    username: Mapped[str] = mapped_column(String(48), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(32))
    site: Mapped[str | None] = mapped_column(String(64))
    worker: Mapped[str | None] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    lang: Mapped[str] = mapped_column(String(8), default="zh-CN")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TokenRow(Base):
    """A bearer token or page session (only its SHA-256 is stored); revoked at logout."""

    __tablename__ = "user_tokens"
    __table_args__ = (Index("ix_user_tokens_username", "username"),)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(48))
    kind: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AuditRow(Base):
    """One write: who, when, what (action and target), from where, and its details."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_ts", "ts"), Index("ix_audit_log_site", "site"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    username: Mapped[str] = mapped_column(String(48))
    role: Mapped[str] = mapped_column(String(32))
    site: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    remote: Mapped[str] = mapped_column(String(64), default="")
    ok: Mapped[bool] = mapped_column(Boolean, default=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON(), default=dict)


class ShiftRow(Base):
    """A weekly shift of a worker: weekday (0 = Monday) and local start/end time."""

    __tablename__ = "roster_shifts"
    __table_args__ = (Index("ix_roster_shifts_site_worker", "site", "worker"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    worker: Mapped[str] = mapped_column(String(64))
    weekday: Mapped[int] = mapped_column(Integer)
    start: Mapped[time] = mapped_column(Time)
    end: Mapped[time] = mapped_column(Time)


class RosterExceptionRow(Base):
    """One day's change to the weekly pattern: a worker absent, or on duty as an extra/swap."""

    __tablename__ = "roster_exceptions"
    __table_args__ = (Index("ix_roster_exceptions_site_day", "site", "day"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    worker: Mapped[str] = mapped_column(String(64))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(48), default="")
    # An `extra` duty covering this grid for the day (a swap across grids); None: own grids.
    grid: Mapped[str | None] = mapped_column(String(64))


class RosterVersionRow(Base):
    """One row: a number that database triggers move on every write to sites, workers, shifts
    and exceptions (migration 0008), so cached rosters know when they are stale."""

    __tablename__ = "roster_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))


class CarePlanRow(Base):
    """How often a resident must be visited, and by whom."""

    __tablename__ = "care_plans"
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    resident: Mapped[str] = mapped_column(String(64), primary_key=True)
    interval_days: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str | None] = mapped_column(String(64))


class CareVisitRow(Base):
    """A home visit made: when, by whom, how it went."""

    __tablename__ = "care_visits"
    __table_args__ = (Index("ix_care_visits_site_resident", "site", "resident"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    resident: Mapped[str] = mapped_column(String(64))
    worker: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(UtcDateTime)
    outcome: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
