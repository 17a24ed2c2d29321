"""Signed JSON webhooks: POST with `X-Watchpost-Signature: sha256=<HMAC of the body>`."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx

SIGNATURE_HEADER = "X-Watchpost-Signature"


class DeliveryError(RuntimeError):
    """One attempt at an external channel did not succeed (retryable)."""


def sign(secret: str, body: bytes) -> str:
    """Return the signature header value of `body`: `sha256=<hex HMAC-SHA256>`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookSender:
    """POSTs alerts to http(s) URLs through one shared httpx client."""

    def __init__(self, client: httpx.AsyncClient, secret: str | None, timeout_s: float) -> None:
        self.client = client
        self.secret = secret
        self.timeout_s = timeout_s

    async def send(self, url: str, document: dict[str, Any]) -> None:
        """POST `document` once; raise DeliveryError unless the receiver answered 2xx."""
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, body)
        try:
            resp = await self.client.post(
                url, content=body, headers=headers, timeout=self.timeout_s
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if not 200 <= resp.status_code < 300:
            raise DeliveryError(f"HTTP {resp.status_code}")
