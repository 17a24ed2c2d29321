"""A ready Mosquitto 2.0 configuration for one site: `watchpost config broker`.

`write_broker_config` writes into one folder everything `mosquitto -c DIR/mosquitto.conf` needs:
`passwd` and `acl` from the site registry (`provision.acl`), a pilot CA `ca.crt` with a server
certificate when none is given (`provision.certificates`; the CA key stays with the secrets),
persistence under `DIR/data/` and the queue limits Watchpost needs (docs/architecture.md: the stock
`max_queued_messages 1000` drops QoS 1 messages silently). `use_username_as_clientid true`
makes every client's id its user name, so no user can take over another's persistent session.

`unix_socket` adds a Unix-domain listener (`listener 0 PATH`) for a hub on the broker's machine
(its `broker_socket`: the telemetry lane reads there, ~19 % more msg/s measured, docs/hub.md).
The same password file and ACL apply (`per_listener_settings false`). Mosquitto 2.0 creates the
socket as the user it runs as, mode 0770: the hub's system user must be in that user's group
(`usermod -aG mosquitto watchpost`); its folder is made 0750 and given to that user.
"""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from protocol.site_config import load_site
from provision.acl import AclFiles, HubUsers, replace_file, write_acl_files
from provision.certificates import Certificates, make_certificates
from provision.secret_store import SecretStore

QUEUE_LIMITS = """\
# Mosquitto drops QoS 1 messages silently past max_queued_messages (1000 by default) while
# every publisher still gets its PUBACK: a lagging hub lost 165,000 of 200,000 in a test.
max_queued_messages 1000000
max_queued_bytes 0
max_inflight_messages 1000
persistent_client_expiration 14d
# $SYS counters every second: the hub watches drops, the watchdog the broker's uptime.
sys_interval 1
# Alarms are small messages: send them at once instead of waiting to fill a segment (Nagle).
set_tcp_nodelay true
"""

PILOT_CA_DAYS = 825
"""Validity of a pilot certificate: the longest that current TLS clients accept for a leaf."""


@dataclass(frozen=True, slots=True)
class Listen:
    """A HOST:PORT the broker listens on."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Listen:
        """Parse `HOST:PORT` (IPv6 hosts in brackets)."""
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host:
            raise ValueError(f"{text!r} must look like HOST:PORT, e.g. 127.0.0.1:1883")
        return cls(host.strip("[]"), int(port))


@dataclass(frozen=True, slots=True)
class BrokerFiles:
    """What `write_broker_config` wrote."""

    conf: Path
    acl: AclFiles
    certs: Certificates | None
    pilot_ca: bool


def tls_hosts(listen: Listen, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Return the names a pilot server certificate is valid for (first = its common name)."""
    names = [*extra]
    if listen.host not in ("0.0.0.0", "::"):
        names.append(listen.host)
    names += [socket.gethostname(), "localhost", "127.0.0.1"]
    return tuple(dict.fromkeys(n for n in names if n))


def render_conf(
    out: Path,
    plain: Listen | None,
    tls: Listen | None,
    certs: Certificates | None,
    user: str,
    unix_socket: Path | None = None,
) -> str:
    """Return the text of mosquitto.conf for the files in `out`."""
    lines = [
        "# Mosquitto 2.0 configuration of a Watchpost site, written by `watchpost config broker`.",
        "# Run: mosquitto -c " + str(out / "mosquitto.conf"),
        "# Re-run `watchpost config broker` after adding devices or workers, then send SIGHUP.",
        "",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {out / 'passwd'}",
        f"acl_file {out / 'acl'}",
        f"user {user}",
        "",
    ]
    # A client's id is its user name, so nobody can take over another user's session. Mosquitto
    # 2.0 keeps this setting per listener even with per_listener_settings false: a line before
    # the first `listener` is silently ignored (measured), so every listener repeats it.
    if plain is not None:
        lines += [f"listener {plain.port} {plain.host}", "use_username_as_clientid true", ""]
    if tls is not None and certs is not None:
        lines += [
            f"listener {tls.port} {tls.host}",
            "use_username_as_clientid true",
            f"cafile {certs.ca_cert}",
            f"certfile {certs.server_cert}",
            f"keyfile {certs.server_key}",
            "tls_version tlsv1.2",
            "",
        ]
    if unix_socket is not None:
        lines += [
            "# A hub on this machine reads telemetry here (its broker_socket); the socket is 0770,",
            f"# owned by {user}: the hub's system user must be in {user}'s group.",
            f"listener 0 {unix_socket}",
            "use_username_as_clientid true",
            "",
        ]
    lines += [
        "# The hub's and the workers' persistent sessions survive a broker restart.",
        "persistence true",
        f"persistence_location {out / 'data'}/",
        "autosave_interval 60",
        "",
        QUEUE_LIMITS,
        f"log_dest file {out / 'mosquitto.log'}",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages true",
    ]
    return "\n".join(lines) + "\n"


def write_broker_config(
    site_dir: Path,
    out: Path,
    store: SecretStore,
    *,
    plain: Listen | None = Listen("127.0.0.1", 1883),
    tls: Listen | None = Listen("0.0.0.0", 8883),
    given: Certificates | None = None,
    hosts: tuple[str, ...] = (),
    hub_user: HubUsers = "hub",
    run_as: str | None = None,
    unix_socket: Path | None = None,
) -> BrokerFiles:
    """Write passwd, acl, TLS material and mosquitto.conf into `out`; return what was written.

    `unix_socket`: also listen there (its folder is made, 0750, owned by `run_as` when root).
    """
    if plain is None and tls is None:
        raise ValueError("the broker needs at least one listener (--listen or --tls-listen)")
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "data").mkdir(exist_ok=True)
    acl = write_acl_files(load_site(site_dir), out, store, hub_user)
    certs, pilot = given, False
    if tls is not None and certs is None:
        certs, pilot = _pilot_certificates(out, store, tls_hosts(tls, hosts)), True
    conf = out / "mosquitto.conf"
    user = run_as or getpass.getuser()
    if unix_socket is not None:
        unix_socket = unix_socket.resolve()
        if len(os.fsencode(unix_socket)) > 107:  # sun_path: 108 bytes with its NUL
            raise ValueError(f"{unix_socket}: too long for a Unix socket (107 bytes at most)")
        _socket_folder(unix_socket.parent, user)
    replace_file(conf, render_conf(out, plain, tls, certs, user, unix_socket), 0o644)
    return BrokerFiles(conf, acl, certs, pilot)


def _socket_folder(folder: Path, user: str) -> None:
    """Make the socket's folder: 0750, owned by the broker's user (Mosquitto binds as it)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o750)
    if os.geteuid() == 0:
        try:
            entry = pwd.getpwnam(user)
        except KeyError as exc:
            raise ValueError(f"no system user {user!r} to give {folder} to (--run-as)") from exc
        os.chown(folder, entry.pw_uid, entry.pw_gid)


def _pilot_certificates(out: Path, store: SecretStore, hosts: tuple[str, ...]) -> Certificates:
    """Return the pilot CA and server certificate in `out`, made once (kept on later runs)."""
    existing = Certificates(
        out / "ca.crt", store.folder / "ca.key", out / "server.crt", out / "server.key"
    )
    if all(p.exists() for p in (existing.ca_cert, existing.server_cert, existing.server_key)):
        return existing
    work = out / ".pilot-ca"
    try:
        made = make_certificates(work, hosts, PILOT_CA_DAYS, ca_key_dir=store.folder)
        for src, dst in (
            (made.ca_cert, existing.ca_cert),
            (made.server_cert, existing.server_cert),
            (made.server_key, existing.server_key),
        ):
            src.replace(dst)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return existing
