"""The hub as its own process, and its settings: flags, YAML file, environment, secrets."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import aiomqtt
import pytest

from hub.settings import build_settings
from protocol.codec import decode_command, encode, new_event_id
from protocol.errors import ConfigError
from protocol.messages import Event, IndicateCmd, utcnow
from protocol.topics import device_topic
from simulators.hubproc import HubProcess
from simulators.services import Mosquitto
from simulators.workers import WorkerPool
from tests.hub.receiver import write_site

DEVICE = "home-b1-101"
GRID_WORKER = "w-zhang-wei"


def post(hub: HubProcess, path: str, body: dict[str, object]) -> dict[str, object]:
    """POST JSON to the hub's API with its token."""
    req = urllib.request.Request(
        hub.api + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {hub.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        result: dict[str, object] = json.loads(resp.read())
        return result


@pytest.mark.integration
async def test_subprocess_hub_sos_ack_via_api_and_graceful_stop(
    tmp_path: Path, mosquitto: Mosquitto, site_id: str
) -> None:
    hub = HubProcess(tmp_path / "hub", mosquitto.url, write_site(tmp_path, site_id))
    pool = WorkerPool.build(mosquitto.url, site_id, [GRID_WORKER], respond=False)
    await asyncio.to_thread(hub.start)
    try:
        async with pool.running(), aiomqtt.Client("127.0.0.1", mosquitto.port) as device:
            await device.subscribe(device_topic(site_id, DEVICE, "cmd"), 1)
            event = Event(
                id=new_event_id(),
                device=DEVICE,
                seq=1,
                ts=utcnow(),
                kind="call",
                source="gpio:call",
            )
            await device.publish(device_topic(site_id, DEVICE, "event"), encode(event), qos=1)
            got = await pool[GRID_WORKER].wait_for_alert()
            acked = await asyncio.to_thread(
                post, hub, f"/api/v1/alarms/{got.alert.alarm}/ack", {"note": GRID_WORKER}
            )
            assert acked["state"] == "acknowledged"
            async with asyncio.timeout(10):
                async for message in device.messages:
                    cmd = decode_command(bytes(message.payload))  # type: ignore[arg-type]
                    if isinstance(cmd, IndicateCmd) and cmd.state == "acknowledged":
                        break
            assert cmd.alarm == got.alert.alarm
    finally:
        proc = hub.proc
        await asyncio.to_thread(hub.stop)
    assert proc is not None and proc.returncode == 0
    assert "hub stopped" in (tmp_path / "hub" / "hub.log").read_text(errors="replace")


def test_bad_config_file_names_the_field_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text("broker: mqtt://127.0.0.1:1883\nbrokr: typo\ntick_s: -1\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert str(config) in result.stderr
    assert "brokr: unknown field" in result.stderr
    assert "tick_s:" in result.stderr


def test_an_invalid_registry_names_the_file_and_exits_2(tmp_path: Path) -> None:
    folder = write_site(tmp_path, "sunflower")
    bad = folder / "devices" / "stair-b2.yaml"
    bad.write_text(bad.read_text(encoding="utf-8").replace("building: b2", "building: b9"))
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "--store", f"sqlite:///{tmp_path / 'hub.db'}",
         "--registry", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert str(bad) in result.stderr
    assert "building: 'b9' is not in site.yaml buildings" in result.stderr
    assert "Traceback" not in result.stderr


def test_settings_precedence_flags_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "hub.yaml"
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n", encoding="utf-8")
    config.write_text(
        f"broker: mqtt://10.0.0.1:1883\nhttp: 127.0.0.1:9000\nname: east\n"
        f"api_token_file: {token_file}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("WATCHPOST_HTTP", "127.0.0.1:9100")
    monkeypatch.setenv("WATCHPOST_WEBHOOK_SECRET", "s3")
    settings = build_settings(config, name="west", store=None)
    assert settings.broker == "mqtt://10.0.0.1:1883"  # file
    assert settings.http_port == 9100  # env beats file
    assert settings.name == "west"  # flag beats file
    assert settings.secret("api_token") == "from-file"
    assert settings.secret("webhook_secret") == "s3"
    assert settings.secret("broker_password") is None
    assert "s3" not in repr(settings)


def test_inline_secret_in_file_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text("api_token: hunter2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="api_token: secrets are not allowed inline"):
        build_settings(config)


def test_missing_secret_file_names_it(tmp_path: Path) -> None:
    settings = build_settings(None, api_token_file=tmp_path / "nope")
    with pytest.raises(ConfigError, match="api_token_file: cannot read"):
        settings.secret("api_token")
