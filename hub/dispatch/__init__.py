"""Dispatch: carry out the alarm engine's actions (MQTT alerts and commands, webhooks, Apprise)."""

from hub.dispatch.dispatcher import DeliveryLog, Dispatcher, channel_kind, redact
from hub.dispatch.notifier import AppriseNotifier
from hub.dispatch.webhook import SIGNATURE_HEADER, DeliveryError, WebhookSender, sign

__all__ = [
    "SIGNATURE_HEADER",
    "AppriseNotifier",
    "DeliveryError",
    "DeliveryLog",
    "Dispatcher",
    "WebhookSender",
    "channel_kind",
    "redact",
    "sign",
]
