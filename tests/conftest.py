"""Fixtures shared by every test: real Mosquitto and InfluxDB processes, unique ids per test."""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from simulators.services import Influxd, Mosquitto, Postgres, free_port
from simulators.tls import Certificates, TlsBroker, make_certificates


@pytest.fixture
def site_id() -> str:
    """Return a site id unique to this test, so topics never collide between tests."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[Callable[..., Mosquitto]]:
    """Start brokers with a test's own config lines; all are stopped by PID at teardown."""
    started: list[Mosquitto] = []

    def start(extra: str = "", name: str = "broker", **kw: object) -> Mosquitto:
        broker = Mosquitto(tmp_path / f"{name}-{len(started)}", extra=extra, **kw)  # type: ignore[arg-type]
        started.append(broker)
        return broker.start()

    yield start
    for broker in started:
        broker.stop()


@pytest.fixture
def mosquitto(mosquitto_factory: Callable[..., Mosquitto]) -> Mosquitto:
    """Return a plain (anonymous, loopback-only) Mosquitto started for this test."""
    return mosquitto_factory()


@pytest.fixture(scope="session")
def tls_certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """Create one throw-away CA and a server certificate for 127.0.0.1/localhost per session."""
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def mosquitto_tls(
    mosquitto_factory: Callable[..., Mosquitto], tls_certificates: Certificates
) -> TlsBroker:
    """Return a Mosquitto with one TLS listener (mqtts://); clients need `ca_file` to trust it."""
    port = free_port()
    extra = tls_certificates.mosquitto_listener(port)
    broker = mosquitto_factory(extra=extra, name="tls-broker", port=port)
    return TlsBroker(broker, tls_certificates)


@pytest.fixture(scope="session")
def influxd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Influxd]:
    """Start one influxd 1.x for the session (about a second and 100 MB)."""
    server = Influxd(tmp_path_factory.mktemp("influxd"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def influxd(influxd_server: Influxd) -> Influxd:
    """Return the session's influxd; give each test its own database via `influx_db`."""
    if influxd_server.proc is None or influxd_server.proc.poll() is not None:
        influxd_server.start()
    return influxd_server


@pytest.fixture
def influx_db(influxd: Influxd) -> str:
    """Create and return a database name unique to this test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    influxd.create_database(name)
    return name


@pytest.fixture(autouse=True)
def _fail_on_logged_exceptions(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Fail a test when one of our packages logged an exception it swallowed."""
    caplog.set_level(logging.INFO)
    yield
    if request.node.get_closest_marker("allow_logged_errors"):
        return
    ours = ("protocol", "edge", "hub", "simulators", "provision")
    bad = [
        r
        for r in caplog.get_records("call")
        if r.levelno >= logging.ERROR and r.exc_info and r.name.split(".")[0] in ours
    ]
    if bad:
        pytest.fail(f"exception logged but not raised: {bad[0].name}: {bad[0].getMessage()}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Postgres]:
    """Start one PostgreSQL for the session (about a second); each test gets a database."""
    # Not under pytest's tmp dir: that is private to root, and the server runs as `postgres`.
    workdir = Path(tempfile.mkdtemp(prefix="watchpost-pg-"))
    server = Postgres(workdir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
