"""Log in (token plus page cookie), log out (revoked at once), who am I, my language."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from hub.accounts import audit
from hub.api.deps import SESSION_COOKIE, Authorized, Context, Who, audited, client_address
from hub.api.errors import TooManyError, UnauthorizedError, responses

router = APIRouter(prefix="/api/v1", tags=["auth"], responses=responses(422))


class LoginBody(BaseModel):
    """A username and password."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"username": "zhang.wei", "password": "correct horse 9"}]},
    )

    username: str = Field(min_length=1, max_length=48)
    password: str = Field(min_length=1, max_length=200)


class Me(BaseModel):
    """The logged-in user."""

    username: str
    role: str
    site: str | None
    worker: str | None
    grids: list[str]
    lang: str
    display_name: str


class LoginAnswer(BaseModel):
    """A bearer token (also set as the page cookie) and when it expires unless used."""

    token: str
    expires_at: datetime | None
    user: Me


class LangBody(BaseModel):
    """A language choice."""

    model_config = ConfigDict(extra="forbid")

    lang: Literal["zh-CN", "en"]


def _me(who: object) -> Me:
    return Me(
        username=getattr(who, "username", ""),
        role=getattr(who, "role", ""),
        site=getattr(who, "site", None),
        worker=getattr(who, "worker", None),
        grids=list(getattr(who, "grids", ())),
        lang=getattr(who, "lang", "zh-CN"),
        display_name=getattr(who, "display_name", ""),
    )


@router.post("/auth/login", responses=responses(401, 429))
async def login(request: Request, response: Response, ctx: Context, body: LoginBody) -> LoginAnswer:
    """Log in; five failures a minute per address or username answer 429 for the minute."""
    remote = client_address(request)
    keys = (f"ip:{remote}", f"user:{body.username}")
    wait = ctx.login_failures.retry_after(*keys)
    if wait > 0:
        raise TooManyError("err.auth_rate", s=int(wait) + 1)
    ok = await asyncio.to_thread(ctx.users.authenticate, body.username, body.password)
    if not ok:
        ctx.login_failures.fail(*keys)
        await asyncio.to_thread(
            audit.record,
            ctx.store,
            None,
            "auth.login",
            body.username,
            remote=remote,
            ok=False,
            username=body.username,
        )
        raise UnauthorizedError("err.login_failed")
    ctx.login_failures.clear(f"user:{body.username}")
    token, expires = await asyncio.to_thread(ctx.users.issue, body.username)
    who = await asyncio.to_thread(ctx.users.resolve, token)
    if who is None:  # disabled between the two calls
        raise UnauthorizedError("err.login_failed")
    request.state.principal = who
    await asyncio.to_thread(audit.record, ctx.store, who, "auth.login", who.username, remote=remote)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=ctx.secure_cookies,
        path="/",
        max_age=int(ctx.users.max_age.total_seconds()),
    )
    return LoginAnswer(token=token, expires_at=expires, user=_me(who))


@router.post("/auth/logout", dependencies=[Authorized], responses=responses(401, 429))
async def logout(request: Request, response: Response, ctx: Context, who: Who) -> dict[str, bool]:
    """Revoke this session or token now; the cookie is cleared."""
    if who.token_digest is not None:
        await asyncio.to_thread(ctx.users.revoke, who.token_digest)
    await audited(ctx, request, who, "auth.logout", who.username)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"ok": True}


@router.get("/me", responses=responses(401, 429))
async def me(who: Who) -> Me:
    """Return the logged-in user."""
    return _me(who)


@router.put("/me/lang", responses=responses(401, 429))
async def set_lang(request: Request, ctx: Context, who: Who, body: LangBody) -> Me:
    """Choose zh-CN or English for your pages, notifications and errors."""
    await asyncio.to_thread(ctx.users.set_lang, who.username, body.lang)
    await audited(ctx, request, who, "user.lang", who.username, detail={"lang": body.lang})
    return _me(who).model_copy(update={"lang": body.lang})
