"""A private CA and server certificates for Mosquitto's TLS listener, made with the `openssl` CLI.

`make_certificates(directory, hosts)` creates a CA and a server certificate for `hosts` (IP
addresses and DNS names) signed by it: the pilot CA that `watchpost config broker` writes when no
certificate is given, and the throw-away material of tests. Keys are unencrypted EC P-256 files,
mode 0600; keep the CA key out of the broker's folder (`watchpost config broker` puts it with the
other secrets).
"""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


class CertificateError(RuntimeError):
    """`openssl` is missing or failed."""


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
        raise CertificateError("openssl not found: install the Debian package 'openssl'")
    result = subprocess.run([binary, *args], capture_output=True, check=False, timeout=60)
    if result.returncode != 0:
        err = result.stderr.decode(errors="replace")[-2000:]
        raise CertificateError(f"openssl {args[0]} failed ({result.returncode}): {err}")


def make_certificates(
    directory: Path,
    hosts: tuple[str, ...] = DEFAULT_HOSTS,
    days: int = 7,
    *,
    ca_key_dir: Path | None = None,
) -> Certificates:
    """Create a CA and a server certificate for `hosts` (IPs and DNS names) in `directory`.

    The CA key goes to `ca_key_dir` (default: `directory`), e.g. a secrets folder.
    """
    directory.mkdir(parents=True, exist_ok=True)
    key_dir = ca_key_dir or directory
    key_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    certs = Certificates(
        ca_cert=directory / "ca.crt",
        ca_key=key_dir / "ca.key",
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
    for private in (certs.ca_key, certs.server_key):
        private.chmod(0o600)
    csr.unlink()
    return certs
