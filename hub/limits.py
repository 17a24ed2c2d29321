"""Flood control on the alarm path: per-sender token buckets and summary logging of rejects.

A stuck button (1,000 `call` in 3 s) or a broken firmware must not delay other homes' alarms.
Every sender (site, role, id) has a bucket. A message past it goes to the back: it is handled
after every other sender's messages waiting with it (never dropped: an edge replaying its
outbox after an outage is a legitimate burst). Only a life-safety event of a kind already
committed from that sender within `first_window_s` — a stuck button's repeats of an alarm that
is already raised — is rejected as `rate_limited` (counted, acknowledged): an SOS is never
refused because the same device was noisy before. A sender past its bucket whose messages do
not even decode (broken firmware, a junk flood) is `junking` for `junk_s`: while it stays past
its bucket, its messages are rejected as `rate_limited` without being parsed, unless the raw
bytes name a life-safety kind.

A rejection never logs a line of its own (a junk flood would fill the disk and cost the loop
~10 % per line at 10,000 msg/s): `RejectionLog` writes at most one summary line per reason
per `every_s`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Sender = tuple[str, str, str]
LIFE_SAFETY = frozenset({"call", "fall", "smoke", "cancel"})
"""Event kinds that go first and are never grouped away (docs/architecture.md, "Alarms")."""


_HINTS = tuple((kind, f'"{kind}"'.encode()) for kind in sorted(LIFE_SAFETY))


def kind_hint(payload: bytes) -> str | None:
    """Return a life-safety kind named in a raw payload (before parsing), or None."""
    for kind, quoted in _HINTS:
        if quoted in payload:
            return kind
    return None


class SenderLimits:
    """Token bucket per sender: `rate_per_s` sustained, `burst` at once."""

    def __init__(
        self,
        rate_per_s: float = 5.0,
        burst: float = 20.0,
        first_window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_senders: int = 200_000,
    ) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self.first_window_s = first_window_s
        self.clock = clock
        self.max_senders = max_senders
        # (tokens, at) tuples, not objects: a tuple of floats is untracked by the cyclic GC,
        # so 100,000 senders add nothing to a full collection (docs/hub.md, "Memory and GC").
        self._buckets: dict[Sender, tuple[float, float]] = {}
        self._life_safety: dict[tuple[Sender, str], float] = {}
        self._junk: dict[Sender, float] = {}
        self.junk_s = 10.0

    def allow(self, sender: Sender) -> bool:
        """Take one token for `sender`; True if it is within its bucket."""
        now = self.clock()
        bucket = self._buckets.get(sender)
        if bucket is None:
            if len(self._buckets) >= self.max_senders:
                self._buckets.clear()  # bounded memory; forgetting buckets only lets more in
            tokens = self.burst
        else:
            tokens = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[sender] = (tokens - 1.0 if allowed else tokens, now)
        return allowed

    def repeat(self, sender: Sender, kind: str | None) -> bool:
        """Return True if a life-safety event of `kind` from `sender` was committed recently."""
        if kind not in LIFE_SAFETY:
            return False
        last = self._life_safety.get((sender, kind))
        return last is not None and self.clock() - last <= self.first_window_s

    def junk(self, sender: Sender) -> None:
        """Note that `sender`, past its bucket, sent something that does not decode."""
        if len(self._junk) >= self.max_senders:
            self._junk.clear()
        self._junk[sender] = self.clock()

    def junking(self, sender: Sender) -> bool:
        """Return True if `sender` sent junk past its bucket within `junk_s`."""
        at = self._junk.get(sender)
        return at is not None and self.clock() - at <= self.junk_s

    def committed(self, sender: Sender, kind: str) -> None:
        """Remember that a life-safety event of `kind` from `sender` was committed now."""
        if kind in LIFE_SAFETY:
            if len(self._life_safety) >= self.max_senders:
                self._life_safety.clear()
            self._life_safety[(sender, kind)] = self.clock()


@dataclass(slots=True)
class _Tally:
    count: int = 0
    since: float = 0.0
    example: str = ""


class RejectionLog:
    """At most one WARNING per reason per `every_s`, saying how many and one example."""

    def __init__(self, every_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s
        self.clock = clock
        self._tallies: dict[str, _Tally] = {}

    def add(self, reason: str, topic: str, detail: object) -> None:
        """Count one rejection; log the summary of `reason` if its minute is over."""
        now = self.clock()
        tally = self._tallies.get(reason)
        if tally is None:
            # The first of a reason is logged at once: it is news.
            self._tallies[reason] = _Tally(0, now, "")
            log.warning("rejected a message (%s) on %s: %.300s", reason, topic[:200], detail)
            return
        tally.count += 1
        if not tally.example:
            tally.example = f"{topic[:200]}: {str(detail)[:300]}"
        if now - tally.since >= self.every_s:
            self.flush(reason)

    def flush(self, reason: str) -> None:
        """Log the summary of `reason` now (if anything was counted) and start a new period."""
        tally = self._tallies.get(reason)
        if tally is None:
            return
        if tally.count:
            log.warning(
                "rejected %d more message(s) (%s) in the last %.0f s; e.g. %s",
                tally.count,
                reason,
                self.clock() - tally.since,
                tally.example,
            )
        self._tallies[reason] = _Tally(0, self.clock(), "")
