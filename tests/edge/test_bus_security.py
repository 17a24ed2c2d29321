"""The agent's bus over TLS (mqtts:// with ca_file) and with a password the broker checks."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from protocol.codec import decode_event
from simulators.services import Mosquitto, free_port
from tests.edge.conftest import DEVICE, Collector, device_config, running, until

pytestmark = pytest.mark.integration


def _ca_and_server_cert(folder: Path) -> tuple[Path, Path, Path]:
    """Make a throwaway CA and a server certificate for 127.0.0.1; return (ca, cert, key)."""
    ca_key, ca, key, csr, cert = (
        folder / n for n in ("ca.key", "ca.crt", "s.key", "s.csr", "s.crt")
    )
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=watchpost-test-ca", "-keyout", ca_key, "-out", ca],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
         "-keyout", key, "-out", csr],
        check=True, capture_output=True,
    )  # fmt: skip
    ext = folder / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n", encoding="utf-8")
    subprocess.run(
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-days", "2", "-extfile", ext, "-out", cert],
        check=True, capture_output=True,
    )  # fmt: skip
    for path in (ca, cert, key):
        path.chmod(0o644)
    return ca, cert, key


async def test_agent_publishes_over_tls(
    tmp_path: Path, site_id: str, mosquitto_factory: Callable[..., Mosquitto]
) -> None:
    ca, cert, key = _ca_and_server_cert(tmp_path)
    plain, tls = free_port(), free_port()
    broker = mosquitto_factory(
        extra=f"listener {plain} 127.0.0.1\n"
        f"listener {tls} 127.0.0.1\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n",
        port=plain,
    )
    collector = Collector(broker, f"watchpost/v1/{site_id}/#")
    config = device_config(
        tmp_path, site_id, f"mqtts://127.0.0.1:{tls}", broker={"ca_file": str(ca)}, bare=True
    )
    async with collector.running(), running(config) as run:
        await until(lambda: run.agent.connected, what="TLS connection")
        await run.agent.emit("call", "test", {})
        await until(lambda: len(collector.on("event")) == 1, what="event over TLS")
    assert decode_event(collector.payloads("event")[0], device=DEVICE).kind == "call"


def _password_file(path: Path) -> Path:
    """Write a mosquitto password file for the device and the collector."""
    for user, pw in ((DEVICE, "s3cret-device"), ("collector", "s3cret-collector")):
        flags = ["-b", "-c"] if user == DEVICE else ["-b"]
        subprocess.run(["mosquitto_passwd", *flags, path, user, pw], check=True)
    path.chmod(0o644)
    return path


async def test_agent_authenticates_with_its_password(
    tmp_path: Path, site_id: str, mosquitto_factory: Callable[..., Mosquitto]
) -> None:
    passwords = _password_file(tmp_path / "passwd")
    broker = mosquitto_factory(extra=f"allow_anonymous false\npassword_file {passwords}\n")
    collector = Collector(
        broker, f"watchpost/v1/{site_id}/#", auth=("collector", "s3cret-collector")
    )
    config = device_config(tmp_path, site_id, broker.url, broker={"username": DEVICE}, bare=True)
    async with collector.running(), running(config, password="s3cret-device") as run:
        await until(lambda: run.agent.connected, what="authenticated connection")
        await run.agent.emit("call", "test", {})
        await until(lambda: len(collector.on("event")) == 1, what="event")
