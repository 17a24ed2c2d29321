"""Throw-away TLS material for brokers in tests and demos: a private CA and a server certificate.

`make_certificates(directory)` runs the `openssl` CLI to create a CA and a server certificate
for 127.0.0.1 and localhost signed by it; `TlsBroker` is a Mosquitto with an `mqtts://`
listener that uses them. Nothing here is fit to protect a real site: keys are unencrypted and
live in the caller's directory.
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from simulators.services import Mosquitto, ServiceError

DEFAULT_HOSTS = ("127.0.0.1", "localhost")

# Python 3.13+ verifies with VERIFY_X509_STRICT: the CA needs critical basicConstraints and
# keyUsage, and the leaf an authorityKeyIdentifier, or the handshake fails.
_CA_EXTENSIONS = """\
[ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
"""

_SERVER_EXTENSIONS = """\
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName = {san}
"""


@dataclass(frozen=True, slots=True)
class Certificates:
    """Paths of a CA and of one server certificate it signed (all PEM)."""

    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path

    def mosquitto_listener(self, port: int) -> str:
        """Return Mosquitto config lines for a loopback TLS listener on `port`."""
        return (
            f"listener {port} 127.0.0.1\n"
            f"cafile {self.ca_cert}\n"
            f"certfile {self.server_cert}\n"
            f"keyfile {self.server_key}\n"
            "allow_anonymous true\n"
        )


def _subject_alt_name(hosts: tuple[str, ...]) -> str:
    names = []
    for host in hosts:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            names.append(f"DNS:{host}")
        else:
            names.append(f"IP:{host}")
    return ", ".join(names)


def _openssl(*args: str) -> None:
    binary = shutil.which("openssl")
    if binary is None:
        raise ServiceError("openssl not found: install the Debian package 'openssl'")
    result = subprocess.run([binary, *args], capture_output=True, check=False, timeout=60)
    if result.returncode != 0:
        err = result.stderr.decode(errors="replace")[-2000:]
        raise ServiceError(f"openssl {args[0]} failed ({result.returncode}): {err}")


def make_certificates(
    directory: Path, hosts: tuple[str, ...] = DEFAULT_HOSTS, days: int = 7
) -> Certificates:
    """Create a CA and a server certificate for `hosts` (IPs and DNS names) in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    certs = Certificates(
        ca_cert=directory / "ca.crt",
        ca_key=directory / "ca.key",
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
    )
    ext = directory / "extensions.cnf"
    ext.write_text(
        _CA_EXTENSIONS + _SERVER_EXTENSIONS.format(san=_subject_alt_name(hosts)), encoding="utf-8"
    )
    csr = directory / "server.csr"
    # EC P-256 keys: generated in milliseconds, unlike RSA.
    ec_key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl(
        "req", "-x509", *ec_key, "-keyout", str(certs.ca_key), "-out", str(certs.ca_cert),
        "-days", str(days), "-subj", "/CN=Watchpost test CA",
        "-config", str(ext), "-extensions", "ca",
    )  # fmt: skip
    _openssl(
        "req", "-new", *ec_key, "-keyout", str(certs.server_key), "-out", str(csr),
        "-subj", f"/CN={hosts[0]}",
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(certs.ca_cert), "-CAkey", str(certs.ca_key),
        "-CAcreateserial", "-out", str(certs.server_cert), "-days", str(days),
        "-extfile", str(ext), "-extensions", "server",
    )  # fmt: skip
    return certs


@dataclass(slots=True)
class TlsBroker:
    """A Mosquitto whose only listener speaks TLS with `certs`; clients trust `ca_file`."""

    broker: Mosquitto
    certs: Certificates

    @property
    def port(self) -> int:
        """Return the TLS listener's port."""
        return self.broker.port

    @property
    def url(self) -> str:
        """Return the mqtts:// URL of the broker."""
        return f"mqtts://127.0.0.1:{self.broker.port}"

    @property
    def ca_file(self) -> Path:
        """Return the CA certificate clients must trust."""
        return self.certs.ca_cert
