"""The telemetry lane over Mosquitto's Unix socket: readings published over TCP reach a
subscriber on the socket, with the broker's password file and ACL; a wrong password there is
refused; the hub's setting reaches the lane's endpoint without TLS."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiomqtt
import pytest

from hub.app import _telemetry_endpoint
from hub.bus import BrokerAddress
from hub.settings import build_settings
from hub.telemetry.wire import Endpoint, Frames, Publish, WireError, subscribe
from provision.password_file import render
from simulators.services import Mosquitto, free_port
from tests.edge.conftest import until

HUB = "hub-telemetry"
EDGE = "d-1"


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """Return a folder whose path fits a Unix socket's 108 bytes (pytest's tmp_path may not)."""
    folder = Path(tempfile.mkdtemp(prefix="wp-sock-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def secured(
    mosquitto_factory: Callable[..., Mosquitto], tmp_path: Path, short_dir: Path, site_id: str
) -> Mosquitto:
    """Return a Mosquitto with a TCP and a Unix listener, a password file and an ACL."""
    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    passwd.write_text(render({HUB: f"pw-{site_id}", EDGE: f"edge-{site_id}"}, {}))
    acl.write_text(
        f"user {HUB}\ntopic read watchpost/v1/{site_id}/dev/+/telemetry\n\n"
        f"user {EDGE}\ntopic write watchpost/v1/{site_id}/dev/{EDGE}/telemetry\n"
        f"topic write watchpost/v1/{site_id}/secret\n"
    )
    extra = f"allow_anonymous false\npassword_file {passwd}\nacl_file {acl}\n"
    return mosquitto_factory(extra=extra, unix_socket=short_dir / "mqtt.sock")


def _endpoint(broker: Mosquitto, password: str) -> Endpoint:
    # Nothing listens on this port: only the socket can carry the connection.
    assert broker.unix_socket is not None
    return Endpoint("127.0.0.1", free_port(), HUB, HUB, password, socket=broker.unix_socket)


@contextlib.asynccontextmanager
async def subscribed(endpoint: Endpoint, filters: list[str]) -> AsyncIterator[list[Publish]]:
    """Run `subscribe` as a task until the block ends; yield what it kept."""
    got: list[Publish] = []
    ready = asyncio.Event()

    def sink(frames: Frames) -> None:
        got.extend(frames.kept)

    task = asyncio.create_task(
        subscribe(endpoint, filters, sink, lambda: 1000, connected=ready.set), name="wire"
    )
    try:
        await until(lambda: ready.is_set() or task.done(), what="subscribed")
        if task.done():
            task.result()  # raises what stopped it
        yield got
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_readings_published_over_tcp_arrive_over_the_unix_socket(
    secured: Mosquitto, site_id: str
) -> None:
    topic = f"watchpost/v1/{site_id}/dev/{EDGE}/telemetry"
    filters = [f"watchpost/v1/{site_id}/dev/+/telemetry", f"watchpost/v1/{site_id}/secret"]
    async with (
        subscribed(_endpoint(secured, f"pw-{site_id}"), filters) as got,
        aiomqtt.Client("127.0.0.1", secured.port, username=EDGE, password=f"edge-{site_id}") as e,
    ):
        for i in range(200):
            await e.publish(topic, json.dumps({"n": i}).encode(), qos=0)
        await e.publish(f"watchpost/v1/{site_id}/secret", b"not for the hub", qos=0)
        await until(lambda: len(got) >= 200, what=lambda: f"200 readings, got {len(got)}")
        await asyncio.sleep(0.3)  # the ACL'd message, had it been delivered, would be here
    assert [json.loads(payload)["n"] for _, payload in got] == list(range(200))
    assert {t for t, _ in got} == {topic.encode()}


async def test_a_wrong_password_over_the_unix_socket_is_refused(
    secured: Mosquitto, site_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(WireError, match="refused the connection"):
        async with subscribed(_endpoint(secured, "wrong"), ["#"]):
            pass
    await asyncio.sleep(0.1)  # the broker closes the socket: the SUBACK's wait fails unawaited
    gc.collect()
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]


def test_no_tls_on_a_unix_socket() -> None:
    with pytest.raises(ValueError, match="no TLS"):
        Endpoint("h", 1, "c", tls=True, socket=Path("/run/x.sock"))


def test_broker_socket_setting_moves_only_the_telemetry_lane(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WATCHPOST_BROKER_SOCKET", "/run/watchpost-broker/mqtt.sock")
    settings = build_settings(broker="mqtts://broker.lan:8883")
    assert settings.broker_socket == Path("/run/watchpost-broker/mqtt.sock")
    assert build_settings(broker_socket=tmp_path / "s").broker_socket == tmp_path / "s"
    address = BrokerAddress.from_url(settings.broker, "hub", "pw")
    over_socket = _telemetry_endpoint(address, "a", settings.broker_socket)
    assert over_socket.socket == settings.broker_socket
    assert not over_socket.tls and over_socket.ssl_context() is None
    assert (over_socket.username, over_socket.password) == ("hub-telemetry", "pw")
    assert over_socket.where == "unix:/run/watchpost-broker/mqtt.sock"
    over_tcp = _telemetry_endpoint(address, "a")
    assert over_tcp.tls and over_tcp.socket is None and over_tcp.where == "broker.lan:8883"
