"""`Accounts`: users, argon2 password checks, short-lived tokens and their revocation.

A token is random (`secrets.token_urlsafe`); the store keeps its SHA-256 only. Page sessions
and login tokens expire `ttl` after their last use and at most `max_age` after login (a shift);
API tokens of service accounts do not expire until revoked. Logout revokes at once.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from hub.accounts.principal import Principal
from hub.accounts.roles import ROLES
from hub.store import Store
from hub.store.people import TokenRow, UserRow
from hub.store.schema import WorkerRow
from protocol.messages import utcnow

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,47}$")
LANGS = ("zh-CN", "en")
_HASHER = PasswordHasher()
# A use refreshes a session's expiry only when this much of its life has gone (fewer writes).
_REFRESH_AFTER = 0.5


class AccountError(ValueError):
    """A user could not be created or changed; the message names the field."""


def digest(token: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Users and tokens in the store; `clock` gives aware UTC now (injectable in tests)."""

    def __init__(
        self,
        store: Store,
        *,
        ttl_s: float = 1800.0,
        max_age_s: float = 12 * 3600.0,
        clock: Callable[[], datetime] = utcnow,
        hasher: PasswordHasher = _HASHER,
    ) -> None:
        """Bind to a migrated store; `hasher` sets argon2's cost (tests use a cheap one)."""
        self.store = store
        self.hasher = hasher
        self.ttl = timedelta(seconds=ttl_s)
        self.max_age = timedelta(seconds=max_age_s)
        self.clock = clock

    @functools.cached_property
    def _dummy(self) -> str:
        """Checked against a password when the user does not exist, so a miss costs the same
        time. Hashed at the first miss, not at start-up (argon2: ~0.25 s of a hub's start)."""
        return self.hasher.hash("not-a-real-password")

    def add_user(
        self,
        username: str,
        password: str | None,
        role: str,
        *,
        site: str | None = None,
        worker: str | None = None,
        display_name: str = "",
        lang: str = "zh-CN",
    ) -> None:
        """Create a user (password None: a service account that only uses API tokens)."""
        if not USERNAME.match(username):
            raise AccountError("username: 1-48 of a-z 0-9 . _ -, starting with a letter or digit")
        if role not in ROLES:
            raise AccountError(f"role: one of {', '.join(ROLES)}")
        if lang not in LANGS:
            raise AccountError(f"lang: one of {', '.join(LANGS)}")
        if password is not None and len(password) < 10:
            raise AccountError("password: at least 10 characters")
        if role != "admin" and site is None:
            raise AccountError("site: required for every role but admin")
        with self.store.session(write=True) as s:
            if s.get(UserRow, username) is not None:
                raise AccountError(f"username: {username!r} exists already")
            if worker is not None:
                row = s.get(WorkerRow, (site, worker))
                if row is None:
                    raise AccountError(f"worker: no worker {worker!r} in site {site!r}")
                display_name = display_name or row.name
            s.add(
                UserRow(
                    username=username,
                    password_hash=self.hasher.hash(password) if password is not None else "",
                    role=role,
                    site=site,
                    worker=worker,
                    display_name=display_name or username,
                    lang=lang,
                    active=True,
                    created_at=self.clock(),
                )
            )

    def set_password(self, username: str, password: str) -> None:
        """Change a password and revoke every token of the user."""
        if len(password) < 10:
            raise AccountError("password: at least 10 characters")
        with self.store.session(write=True) as s:
            row = s.get(UserRow, username)
            if row is None:
                raise AccountError(f"username: no user {username!r}")
            row.password_hash = self.hasher.hash(password)
        self.revoke_all(username)

    def set_active(self, username: str, active: bool) -> None:
        """Enable or disable a user; disabling revokes every token."""
        with self.store.session(write=True) as s:
            row = s.get(UserRow, username)
            if row is None:
                raise AccountError(f"username: no user {username!r}")
            row.active = active
        if not active:
            self.revoke_all(username)

    def set_lang(self, username: str, lang: str) -> None:
        """Choose the language of a user's pages, notifications and errors."""
        if lang not in LANGS:
            raise AccountError(f"lang: one of {', '.join(LANGS)}")
        with self.store.session(write=True) as s:
            row = s.get(UserRow, username)
            if row is not None:
                row.lang = lang

    def users(self) -> list[UserRow]:
        """Return every user, by username."""
        with self.store.session() as s:
            return list(s.scalars(select(UserRow).order_by(UserRow.username)))

    def authenticate(self, username: str, password: str) -> bool:
        """Return True if the user exists, is active and the password matches."""
        with self.store.session() as s:
            row = s.get(UserRow, username)
        stored = row.password_hash if row is not None and row.active else ""
        try:
            return self.hasher.verify(stored or self._dummy, password) and bool(stored)
        except (VerificationError, InvalidHashError):
            return False

    def issue(self, username: str, kind: str = "session") -> tuple[str, datetime | None]:
        """Return a new token for `username` and when it expires (None: an API token)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        expires = None if kind == "api" else now + self.ttl
        with self.store.session(write=True) as s:
            s.add(
                TokenRow(
                    digest=digest(token),
                    username=username,
                    kind=kind,
                    created_at=now,
                    expires_at=expires,
                )
            )
        return token, expires

    def resolve(self, token: str) -> Principal | None:
        """Return who `token` belongs to, or None if unknown, expired, revoked or disabled."""
        key = digest(token)
        now = self.clock()
        with self.store.session() as s:
            row = s.get(TokenRow, key)
            if row is None or row.revoked_at is not None:
                return None
            if row.expires_at is not None and row.expires_at <= now:
                return None
            user = s.get(UserRow, row.username)
            if user is None or not user.active:
                return None
            grids: tuple[str, ...] = ()
            if user.worker is not None and user.site is not None:
                w = s.get(WorkerRow, (user.site, user.worker))
                grids = tuple(w.grids) if w is not None else ()
            expires = row.expires_at
        if expires is not None and expires - now < self.ttl * _REFRESH_AFTER:
            self._extend(key, row.created_at, now)
        return Principal(
            username=user.username,
            role=user.role,
            site=user.site,
            worker=user.worker,
            grids=grids,
            lang=user.lang,
            display_name=user.display_name,
            token_digest=key,
        )

    def _extend(self, key: str, created: datetime, now: datetime) -> None:
        until = min(now + self.ttl, created + self.max_age)
        with self.store.session(write=True) as s:
            s.execute(update(TokenRow).where(TokenRow.digest == key).values(expires_at=until))

    def revoke(self, key: str) -> None:
        """Revoke one token by its digest (logout)."""
        with self.store.session(write=True) as s:
            s.execute(
                update(TokenRow)
                .where(TokenRow.digest == key, TokenRow.revoked_at.is_(None))
                .values(revoked_at=self.clock())
            )

    def revoke_all(self, username: str) -> int:
        """Revoke every token of a user; return how many were live."""
        with self.store.session(write=True) as s:
            result = s.execute(
                update(TokenRow)
                .where(TokenRow.username == username, TokenRow.revoked_at.is_(None))
                .values(revoked_at=self.clock())
            )
            return int(getattr(result, "rowcount", 0) or 0)
