"""Parse the online/offline payloads of zigbee2mqtt, Tasmota LWT and ESPHome status topics."""

from __future__ import annotations

from protocol.codec import load_json
from protocol.errors import ProtocolError


def parse_online(payload: bytes) -> bool | None:
    """Return True/False for an online/offline payload, None if it is neither.

    Accepts zigbee2mqtt's `{"state":"online"}`, its legacy plain `online`, Tasmota's
    `Online`/`Offline` and ESPHome's `online`/`offline`.
    """
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    if text.startswith("{"):
        try:
            # Bounded (size, nesting depth): a bare json.loads raises RecursionError on `{{{…`.
            obj = load_json(payload)
        except ProtocolError:
            return None
        state = obj.get("state")
        if not isinstance(state, str):
            return None
        text = state
    lowered = text.lower()
    if lowered in ("online", "offline"):
        return lowered == "online"
    return None
