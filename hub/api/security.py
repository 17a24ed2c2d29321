"""Security headers on every answer, and the OpenAPI and /metrics behind their settings.

`loopback` (the default) serves them to 127.0.0.1/::1 only (Prometheus on the same machine,
or through the reverse proxy's own auth); `open` to anyone; `off` to no one (404).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"cross-origin-opener-policy", b"same-origin"),
)
GATED = {"/openapi.json": "openapi", "/metrics": "metrics_access"}


def is_loopback(host: str | None) -> bool:
    """Return True for 127.0.0.0/8 and ::1."""
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SecurityHeaders:
    """ASGI middleware: add the headers; answer 404 for gated paths the settings hide."""

    def __init__(self, app: ASGIApp, settings: Any) -> None:
        """Wrap `app`; `settings` has `openapi` and `metrics_access` ("loopback"/"open"/"off")."""
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        gate = GATED.get(scope.get("path", ""))
        if gate is not None:
            mode = getattr(self.settings, gate)
            client = scope.get("client")
            host = client[0] if client else None
            if mode == "off" or (mode == "loopback" and not is_loopback(host)):
                await _not_found(send)
                return
        api = scope.get("path", "").startswith("/api/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(HEADERS)
                if api:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


async def _not_found(send: Send) -> None:
    body = b'{"detail":"Not Found","code":"not_found"}'
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [(b"content-type", b"application/json"), *HEADERS],
        }
    )
    await send({"type": "http.response.body", "body": body})
