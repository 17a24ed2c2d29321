"""Build and parse the MQTT topics of the v1 contract (`watchpost/v1/{site}/...`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from protocol.errors import ProtocolError

PREFIX = "watchpost/v1"
ID_PATTERN = r"^[a-z0-9-]{1,64}$"
_ID = re.compile(ID_PATTERN)

DeviceChannel = Literal["event", "telemetry", "status", "cmd"]
WorkerChannel = Literal["alert", "reply"]
DEVICE_CHANNELS: tuple[DeviceChannel, ...] = ("event", "telemetry", "status", "cmd")
WORKER_CHANNELS: tuple[WorkerChannel, ...] = ("alert", "reply")


def check_id(value: str, what: str = "id") -> str:
    """Return `value` if it is a valid Watchpost id, else raise ProtocolError."""
    if not _ID.match(value):
        raise ProtocolError(
            "bad_topic", f"{what} {value!r} must match [a-z0-9-]{{1,64}} (lower-case, digits, '-')"
        )
    return value


def device_topic(site: str, device: str, channel: DeviceChannel) -> str:
    """Return the topic of one device channel."""
    return f"{PREFIX}/{check_id(site, 'site')}/dev/{check_id(device, 'device')}/{channel}"


def worker_topic(site: str, worker: str, channel: WorkerChannel) -> str:
    """Return the topic of one worker channel."""
    return f"{PREFIX}/{check_id(site, 'site')}/worker/{check_id(worker, 'worker')}/{channel}"


def shared(group: str | None, topic_filter: str) -> str:
    """Return `topic_filter` as an MQTT shared subscription of `group` (unchanged if None).

    The hubs of one group split the matching messages between them (`$share/{group}/…`, MQTT 5,
    also accepted from 3.1.1 clients by Mosquitto 2, EMQX and VerneMQ); messages arrive on their
    own topic, so parsing does not change.
    """
    if group is None:
        return topic_filter
    return f"$share/{check_id(group, 'share group')}/{topic_filter}"


def hub_topic(site: str, hub: str) -> str:
    """Return the retained status topic of one hub (its heartbeat; last will `offline`)."""
    return f"{PREFIX}/{check_id(site, 'site')}/hub/{check_id(hub, 'hub')}/status"


def hub_filter(site: str | None) -> str:
    """Return a subscription filter for the status of every hub (of one site or all)."""
    return f"{PREFIX}/{site or '+'}/hub/+/status"


def device_filter(site: str | None, channel: DeviceChannel) -> str:
    """Return a subscription filter for one channel of every device (of one site or all)."""
    return f"{PREFIX}/{site or '+'}/dev/+/{channel}"


def worker_filter(site: str | None, channel: WorkerChannel) -> str:
    """Return a subscription filter for one channel of every worker (of one site or all)."""
    return f"{PREFIX}/{site or '+'}/worker/+/{channel}"


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed v1 topic."""

    site: str
    role: Literal["dev", "worker"]
    ident: str
    channel: str


def parse_topic(topic: str) -> Topic:
    """Split a v1 topic into its parts, raising ProtocolError for anything else."""
    parts = topic.split("/")
    if len(parts) != 6 or f"{parts[0]}/{parts[1]}" != PREFIX:
        raise ProtocolError("bad_topic", f"{topic!r} is not a watchpost/v1/{{site}}/... topic")
    _, _, site, role, ident, channel = parts
    check_id(site, "site")
    check_id(ident, "device" if role == "dev" else "worker")
    if role == "dev" and channel in DEVICE_CHANNELS:
        return Topic(site, "dev", ident, channel)
    if role == "worker" and channel in WORKER_CHANNELS:
        return Topic(site, "worker", ident, channel)
    raise ProtocolError("bad_topic", f"{topic!r}: unknown role/channel {role}/{channel}")
