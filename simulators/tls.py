"""Throw-away TLS material for brokers in tests and demos: a private CA and a server certificate.

The certificates are made by `provision.certificates` (the pilot CA of `watchpost config broker`);
`TlsBroker` is a Mosquitto with an `mqtts://` listener that uses them. Nothing here is fit to
protect a real site: keys are unencrypted and live in the caller's directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from provision.certificates import DEFAULT_HOSTS, Certificates, make_certificates
from simulators.services import Mosquitto

__all__ = ["DEFAULT_HOSTS", "Certificates", "TlsBroker", "make_certificates"]


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
