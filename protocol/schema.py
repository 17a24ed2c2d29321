"""Generate JSON Schema for every payload, for firmware written in other languages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from protocol.device_config import DeviceConfig
from protocol.messages import (
    Command,
    Event,
    HubStatus,
    Status,
    Telemetry,
    WorkerAlert,
    WorkerReply,
)
from protocol.site_config import SiteConfig

SCHEMAS: dict[str, Any] = {
    "event": Event,
    "telemetry": Telemetry,
    "status": Status,
    "cmd": Command,
    "alert": WorkerAlert,
    "reply": WorkerReply,
    "hub-status": HubStatus,
    "device-config": DeviceConfig,
    "site-config": SiteConfig,
}


def build_schemas() -> dict[str, dict[str, Any]]:
    """Return the JSON Schema of each payload and config file, keyed by name."""
    out = {}
    for name, model in SCHEMAS.items():
        schema = TypeAdapter(model).json_schema(by_alias=True)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://watchpost.invalid/schema/v1/{name}.json"
        out[name] = schema
    return out


def write_schemas(folder: str | Path) -> list[Path]:
    """Write one `NAME.schema.json` per payload into `folder`; return the paths."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, schema in build_schemas().items():
        path = root / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        paths.append(path)
    return paths
