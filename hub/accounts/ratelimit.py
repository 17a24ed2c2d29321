"""Count authentication failures per key (client address, username) in a sliding window."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class FailureLimiter:
    """After `limit` failures within `window_s` for a key, refuse it until the oldest ages out."""

    def __init__(
        self,
        limit: int = 5,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        """Configure the window; `max_keys` bounds memory under a flood of distinct keys."""
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.get(key)
        if q is None:
            return deque()
        while q and now - q[0] >= self.window_s:
            q.popleft()
        if not q:
            del self._failures[key]
        return q

    def retry_after(self, *keys: str) -> float:
        """Return seconds to wait if any key is over its limit, else 0."""
        now = self.clock()
        wait = 0.0
        for key in keys:
            q = self._recent(key, now)
            if len(q) >= self.limit:
                wait = max(wait, self.window_s - (now - q[0]))
        return wait

    def fail(self, *keys: str) -> None:
        """Count one failure against every key."""
        now = self.clock()
        if len(self._failures) >= self.max_keys:
            self._failures.clear()  # a flood of new keys: forget rather than grow without end
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)

    def clear(self, key: str) -> None:
        """Forget a key's failures (after a successful login)."""
        self._failures.pop(key, None)
