"""Device liveness in memory (issue #8, "liveness in memory").

A heartbeat that changes nothing — a device already online says `online` again with the same
promised interval — is the bulk of a street's alarm-path traffic (5,000 devices every 30 s).
It costs a dictionary update here and is acknowledged at once; `flush` writes the last-seen
times and statuses to the store in one transaction every second, so supervision (missed
heartbeats) sees them. Only transitions reach the alarm engine: a device not known online here,
an `offline`, a changed heartbeat interval.

The store stays the truth: if a flush finds a device the store no longer has online (e.g.
supervision marked it offline meanwhile), that device is forgotten here, and its next status
goes to the engine (which resolves its offline trouble). A hub starts from the store's online
devices (`prime`), so the retained statuses the broker replays at subscribe are taken in bulk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from protocol.messages import Status

Key = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Seen:
    """A routine heartbeat to write: who, when the hub took it, and the status."""

    site: str
    device: str
    at: datetime
    status: Status


class Liveness:
    """Which devices are online, in memory; routine heartbeats waiting to be written."""

    def __init__(self) -> None:
        # key → promised heartbeat interval (None: none promised). Plain values, not objects:
        # the cyclic GC never has to walk 100,000 entries (docs/hub.md, "Memory and GC").
        self._online: dict[Key, float | None] = {}
        self._seen: dict[Key, Seen] = {}

    def __len__(self) -> int:
        return len(self._online)

    def prime(self, online: list[tuple[str, str, float | None]]) -> None:
        """Start from the store's online devices (site, device, heartbeat_s)."""
        for site, device, beat in online:
            self._online[(site, device)] = beat

    def routine(self, site: str, status: Status, now: datetime) -> bool:
        """Take a status that changes nothing (True), or leave it to the engine (False)."""
        key = (site, status.device)
        if key not in self._online or status.state != "online":
            return False
        if status.heartbeat_s is not None and status.heartbeat_s != self._online[key]:
            return False
        self._seen[key] = Seen(site, status.device, now, status)
        return True

    def committed(self, site: str, status: Status) -> None:
        """Note a status the engine committed."""
        key = (site, status.device)
        if status.state == "online":
            self._online[key] = status.heartbeat_s
        else:
            self._online.pop(key, None)
        self._seen.pop(key, None)

    def take(self) -> list[Seen]:
        """Return (and forget) the routine heartbeats not yet written."""
        seen, self._seen = list(self._seen.values()), {}
        return seen

    def give_back(self, seen: list[Seen]) -> None:
        """Keep heartbeats whose write failed for the next flush (newer ones win)."""
        for s in seen:
            self._seen.setdefault((s.site, s.device), s)

    def forget(self, keys: list[Key]) -> None:
        """Forget devices the store does not have online: their next status goes to the engine."""
        for key in keys:
            self._online.pop(key, None)
