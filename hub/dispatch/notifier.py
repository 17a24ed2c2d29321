"""Apprise channels (wecom://, dingtalk://, lark://, ntfy://, mailto://, json://, ...)."""

from __future__ import annotations

import warnings

import apprise

from hub.dispatch.webhook import DeliveryError
from protocol.messages import WorkerAlert


def load_plugins() -> None:
    """Load Apprise's plugins now, once, hiding the DeprecationWarnings of their imports."""
    # Apprise imports its plugins lazily, on the first URL; some import modules deprecated in
    # Python 3.11 (imghdr). Loading them here keeps that noise out of the first alarm's path.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        apprise.Apprise().add("json://localhost")


def is_apprise_url(url: str) -> bool:
    """Return True if Apprise has a plugin for `url`'s scheme."""
    return bool(apprise.Apprise().add(url))


def render(alert: WorkerAlert) -> tuple[str, str]:
    """Return the (title, body) of an alert, zh-CN first, then English."""
    title = f"{alert.title_zh} / {alert.title_en}"
    body = "\n\n".join(part for part in (alert.body_zh, alert.body_en) if part) or title
    return title, body


class AppriseNotifier:
    """Sends one alert to one Apprise URL."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        load_plugins()

    async def send(self, url: str, alert: WorkerAlert) -> None:
        """Notify `url` once; raise DeliveryError if Apprise reports anything but success."""
        target = apprise.Apprise()
        if not target.add(url):
            raise DeliveryError("Apprise cannot parse this URL")
        title, body = render(alert)
        result = await target.async_notify(body=body, title=title, timeout=self.timeout_s)
        if not result:
            raise DeliveryError(f"Apprise status {getattr(result, 'status', result)!r}")
