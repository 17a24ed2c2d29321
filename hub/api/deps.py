"""Request dependencies: the hub context and bearer-token authentication."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.api.context import ApiContext
from hub.api.errors import UnauthorizedError

_bearer = HTTPBearer(auto_error=False)


def get_context(request: Request) -> ApiContext:
    """Return the hub context stored on the app."""
    ctx: ApiContext = request.app.state.ctx
    return ctx


Context = Annotated[ApiContext, Depends(get_context)]


def require_token(
    ctx: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Refuse the request (401) unless it carries the configured bearer token."""
    if ctx.token is None:
        raise UnauthorizedError("the API token is not configured on this hub (WATCHPOST_API_TOKEN)")
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise UnauthorizedError("missing bearer token")
    if not hmac.compare_digest(credentials.credentials.encode(), ctx.token.encode()):
        raise UnauthorizedError("wrong bearer token")


Authorized = Depends(require_token)
