"""Scaffold a new device YAML in a site folder, with a fresh MQTT credential.

The file is validated with `protocol.device_config` before it is written and the whole site
is cross-checked afterwards; on any problem nothing is left behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from protocol.config_file import load_model
from protocol.device_config import DeviceConfig
from protocol.errors import ConfigError
from protocol.site_config import SiteConfig, load_site
from provision.secret_store import SecretStore

CREDENTIALS_ON_DEVICE = "/etc/watchpost/secrets"


@dataclass
class DeviceRequest:
    """What the installer tells `watchpost config device`."""

    device: str
    building: str
    household: str | None = None
    resident: str | None = None
    location: str = ""
    broker_url: str = "mqtt://127.0.0.1:1883"
    pins: dict[str, int | None] = field(default_factory=dict)


def _resident_for(site: SiteConfig, household: str | None) -> str | None:
    """Return the only resident of a household, or None if there is none or several."""
    living = [r.id for r in site.residents if household and r.household == household]
    return living[0] if len(living) == 1 else None


def device_document(site: SiteConfig, req: DeviceRequest) -> dict[str, Any]:
    """Return the YAML document (as data) for a new device."""
    building = next((b for b in site.buildings if b.id == req.building), None)
    if building is None:
        known = ", ".join(b.id for b in site.buildings) or "none"
        raise ConfigError("site.yaml", [f"building: {req.building!r} is not defined ({known})"])
    inputs = {
        name: {"pin": pin}
        for name, pin in (
            ("call_button", req.pins.get("call")),
            ("cancel_button", req.pins.get("cancel")),
        )
        if pin is not None
    }
    outputs = {
        name: {"pin": pin}
        for name, pin in (("led", req.pins.get("led")), ("buzzer", req.pins.get("buzzer")))
        if pin is not None
    }
    doc: dict[str, Any] = {
        "device": req.device,
        "site": site.site,
        "grid": building.grid,
        "building": building.id,
        "household": req.household,
        "resident": req.resident or _resident_for(site, req.household),
        "location": req.location,
        "broker": {
            "url": req.broker_url,
            "username": req.device,
            "password_file": f"{CREDENTIALS_ON_DEVICE}/{req.device}.pw",
        },
        "inputs": inputs,
        "outputs": outputs,
    }
    return {k: v for k, v in doc.items() if v not in (None, "", {})}


def scaffold_device(site_dir: Path, req: DeviceRequest, store: SecretStore) -> Path:
    """Write `devices/<device>.yaml` and a fresh credential; return the YAML path."""
    site = load_model(SiteConfig, site_dir / "site.yaml")
    path = site_dir / "devices" / f"{req.device}.yaml"
    doc = device_document(site, req)
    load_model(DeviceConfig, path, data=doc)
    if path.exists():
        raise ConfigError(str(path), ["device: a file for this device exists already"])
    header = f"# {req.device}: scaffolded by `watchpost config device`; edit inputs to match.\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    try:
        load_site(site_dir)
        store.create(req.device)
    except BaseException:
        path.unlink()
        raise
    return path
