"""Mosquitto password files: PBKDF2-SHA512 hashes in the `$7$` format of mosquitto 2.0.

Written in Python (the format `mosquitto_passwd` writes: 12-byte salt, 101 iterations,
64-byte digest, both base64) so the hub machine needs no Mosquitto tools to provision.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

ITERATIONS = 101
SALT_BYTES = 12


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """Return the `$7$iterations$salt$digest` hash of a password."""
    salt = os.urandom(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    b64 = base64.b64encode
    return f"$7${iterations}${b64(salt).decode()}${b64(digest).decode()}"


def verify(password: str, hashed: str) -> bool:
    """Return True if `hashed` (a `$7$` hash) is the hash of `password`."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[1] != "7" or not parts[2].isdigit():
        return False
    try:
        salt = base64.b64decode(parts[3], validate=True)
    except ValueError:
        return False
    return hmac.compare_digest(hash_password(password, salt=salt, iterations=int(parts[2])), hashed)


def read_hashes(path: Path) -> dict[str, str]:
    """Return user -> hash from an existing password file (empty if there is none)."""
    if not path.exists():
        return {}
    entries = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        user, sep, hashed = line.partition(":")
        if sep and not line.startswith("#"):
            entries[user] = hashed
    return entries


def render(passwords: dict[str, str], previous: dict[str, str]) -> str:
    """Return the password file text; a previous hash that still matches is kept (no churn)."""
    lines = []
    for user, password in passwords.items():
        old = previous.get(user)
        lines.append(f"{user}:{old if old and verify(password, old) else hash_password(password)}")
    return "\n".join(lines) + "\n"
