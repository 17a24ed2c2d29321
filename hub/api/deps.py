"""Request dependencies: the hub context and who is asking (bearer token or page session).

A page session is the `wp_session` cookie (HttpOnly, SameSite=Strict); a write made with it
must also carry `X-Watchpost: 1`, which a cross-site form cannot send. Authentication
failures are counted per client address: past the limit, 429 until the window passes.
"""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.accounts import Principal, audit
from hub.accounts.roles import Permission
from hub.api.context import ApiContext
from hub.api.errors import ForbiddenError, TooManyError, UnauthorizedError

SESSION_COOKIE = "wp_session"
PAGE_HEADER = "x-watchpost"
SERVICE = Principal(username="api-token", role="admin", site=None, lang="en")
_bearer = HTTPBearer(auto_error=False, description="A login token or a service API token")


def get_context(request: Request) -> ApiContext:
    """Return the hub context stored on the app."""
    ctx: ApiContext = request.app.state.ctx
    return ctx


Context = Annotated[ApiContext, Depends(get_context)]


def client_address(request: Request) -> str:
    """Return the client's address: the peer, or behind a trusted reverse proxy the nearest
    address in X-Forwarded-For that is not itself a trusted proxy."""
    peer = request.client.host if request.client else "-"
    trusted: frozenset[str] = request.app.state.ctx.trusted_proxies
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:64]
    return peer


async def audited(
    ctx: ApiContext,
    request: Request,
    who: Principal,
    action: str,
    target: str,
    **fields: Any,  # ok, detail, site: as `audit.record` takes them
) -> None:
    """Append the audit entry of one write made by `who` from this request's client address."""
    await asyncio.to_thread(
        audit.record, ctx.store, who, action, target, remote=client_address(request), **fields
    )


async def current_principal(
    request: Request,
    ctx: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Return who is asking; 401 without valid credentials, 429 after too many failures."""
    remote = client_address(request)
    wait = ctx.auth_failures.retry_after(remote)
    if wait > 0:
        raise TooManyError("err.auth_rate", s=int(wait) + 1)
    from_cookie = False
    if credentials is not None and credentials.scheme.lower() == "bearer":
        token = credentials.credentials
    else:
        token = request.cookies.get(SESSION_COOKIE, "")
        from_cookie = bool(token)
    if not token:
        raise UnauthorizedError("err.auth_missing")
    who: Principal | None
    if ctx.token is not None and hmac.compare_digest(token.encode(), ctx.token.encode()):
        who = SERVICE
    else:
        who = await asyncio.to_thread(ctx.users.resolve, token)
    if who is None:
        ctx.auth_failures.fail(remote)
        raise UnauthorizedError("err.auth_invalid")
    request.state.principal = who
    if (
        from_cookie
        and request.method not in ("GET", "HEAD")
        and not request.headers.get(PAGE_HEADER)
    ):
        raise ForbiddenError("err.csrf", role=who.role)
    return who


Who = Annotated[Principal, Depends(current_principal)]
Authorized = Depends(current_principal)


def require(who: Principal, permission: Permission) -> None:
    """Raise 403 unless `who` holds `permission`."""
    if not who.may(permission):
        raise ForbiddenError("err.forbidden", role=who.role)
