"""Page the duty officer through Apprise URLs (the watchdog's second channel, not the hub's).

Each notice goes to every URL, in order, each tried up to `attempts` times with the shared
backoff; a channel that keeps failing is logged and skipped, never blocks the watcher.
"""

from __future__ import annotations

import asyncio
import logging
import warnings

import apprise

from lookout.watcher import Notice
from protocol.backoff import Backoff

log = logging.getLogger(__name__)


class Pager:
    """Send notices to Apprise URLs (wecom://, dingtalk://, ntfy://, mailto://, json://, ...)."""

    def __init__(self, urls: list[str], *, timeout_s: float = 5.0, attempts: int = 3) -> None:
        with warnings.catch_warnings():
            # Apprise's plugins import modules deprecated in 3.11 (imghdr): load them once, quietly.
            warnings.simplefilter("ignore", DeprecationWarning)
            bad = [url for url in urls if not apprise.Apprise().add(url)]
        if bad or not urls:
            raise ValueError(f"not an Apprise URL: {bad}" if bad else "no --notify URL given")
        self.urls = urls
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.sent = 0
        self.failed = 0

    async def page(self, notice: Notice) -> None:
        """Send one notice to every URL."""
        for url in self.urls:
            backoff = Backoff(first=0.5, cap=5.0)
            for attempt in range(1, self.attempts + 1):
                target = apprise.Apprise()
                target.add(url)
                ok = await target.async_notify(
                    title=notice.title, body=notice.body, timeout=self.timeout_s
                )
                if ok:
                    self.sent += 1
                    break
                if attempt < self.attempts:
                    await asyncio.sleep(backoff.next_delay())
            else:
                self.failed += 1
                log.error("watchdog: page %r not delivered to one channel", notice.title)
