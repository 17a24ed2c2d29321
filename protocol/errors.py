"""Errors raised by `protocol` when bytes or files do not match the contract.

Exception tree::

    ValueError
     +-- ProtocolError      a message on the wire is not a valid v1 payload
     +-- ConfigError        a YAML file does not match its model
"""

from __future__ import annotations

from typing import Literal

Reason = Literal[
    "too_large",
    "too_deep",
    "not_json",
    "not_object",
    "non_finite",
    "bad_version",
    "unknown_kind",
    "invalid",
    "bad_topic",
    "device_mismatch",
]


class ProtocolError(ValueError):
    """A payload or topic that does not follow the Watchpost v1 contract.

    `reason` is a short, stable code for metrics; `str(err)` says what was wrong.
    """

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason: Reason = reason
        self.detail = message


class ConfigError(ValueError):
    """A configuration file that does not match its model; names the file, the field and the fix."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        joined = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: invalid configuration\n{joined}")
