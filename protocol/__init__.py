"""Watchpost wire protocol v1: topics, payload models, codec, JSON Schema, config models.

Imports nothing of the project but itself, and no third-party library but pydantic and PyYAML.
"""

from protocol.codec import MAX_PAYLOAD, decode, decode_command, decode_event, encode, new_event_id
from protocol.errors import ConfigError, ProtocolError
from protocol.messages import (
    Event,
    IndicateCmd,
    SelfTestCmd,
    SirenCmd,
    Status,
    Telemetry,
    WorkerAlert,
    WorkerReply,
    utcnow,
)

__all__ = [
    "MAX_PAYLOAD",
    "ConfigError",
    "Event",
    "IndicateCmd",
    "ProtocolError",
    "SelfTestCmd",
    "SirenCmd",
    "Status",
    "Telemetry",
    "WorkerAlert",
    "WorkerReply",
    "decode",
    "decode_command",
    "decode_event",
    "encode",
    "new_event_id",
    "utcnow",
]
