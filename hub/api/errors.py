"""Map every error a route can meet to one HTTP answer, in one place, in the reader's language.

Exception tree of the API itself::

    Exception
     +-- ApiError              a translation key, its parameters, an HTTP status
          +-- UnauthorizedError    401: no session or token, or a wrong/expired/revoked one
          +-- ForbiddenError       403: the role may not do this
          +-- NotFoundError        404: no such thing, or not visible to this user
          +-- ConflictError        409: the alarm's state refuses the action (reason code)
          +-- TooManyError         429: too many authentication failures from here

A body is always `{"detail": text, "code": key}` (422 adds `fields`); never a stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from hub.web.i18n import lang_of, text

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    """What every error answer carries."""

    detail: str
    code: str
    fields: list[str] | None = None


class ApiError(Exception):
    """An error with an HTTP status and a translated message."""

    status = 400

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class UnauthorizedError(ApiError):
    """No valid session or token."""

    status = 401


class ForbiddenError(ApiError):
    """The role does not allow this."""

    status = 403


class NotFoundError(ApiError):
    """The requested resource does not exist (or is not visible to this user)."""

    status = 404


class ConflictError(ApiError):
    """The action is refused in the current state; `reason` is the engine's code."""

    status = 409


class TooManyError(ApiError):
    """Too many authentication failures; retry after `s` seconds."""

    status = 429


def request_lang(request: Request) -> str:
    """Return the reader's language: the user's choice, else the Accept-Language header."""
    who = getattr(request.state, "principal", None)
    if who is not None:
        return str(who.lang)
    return lang_of(request.headers.get("accept-language"))


def _body(request: Request, key: str, code: str, **params: Any) -> dict[str, Any]:
    return {"detail": text(key, request_lang(request), **params), "code": code}


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    params = dict(exc.params)
    code = exc.key
    if isinstance(exc, ConflictError):
        reason = str(params.get("reason", ""))
        code = reason or exc.key
        params["reason"] = f"{text('reason.' + reason, request_lang(request))} ({reason})"
    headers: dict[str, str] = {}
    if isinstance(exc, UnauthorizedError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyError):
        headers["Retry-After"] = str(params.get("s", 60))
    return JSONResponse(
        _body(request, exc.key, code, **params), status_code=exc.status, headers=headers
    )


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [_field(e.get("loc", ())) for e in exc.errors()]
    described = "; ".join(
        f"{_field(e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()[:5]
    )
    body = _body(request, "err.invalid", "invalid", fields=described)
    body["fields"] = fields
    return JSONResponse(body, status_code=422)


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    log.error("API %s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse(_body(request, "err.internal", "internal"), status_code=500)


def install(app: FastAPI) -> None:
    """Register the handlers that turn our exceptions into HTTP answers."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(Exception, _internal)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Return the OpenAPI `responses` entries of these error statuses."""
    described = {
        401: "Not logged in, or the session/token expired or was revoked",
        403: "The user's role may not do this",
        404: "Not found, or not visible to this user",
        409: "Refused in the current state; `code` names the reason",
        422: "Invalid input; `fields` names each offending field",
        429: "Too many authentication failures; see Retry-After",
    }
    return {s: {"model": ErrorBody, "description": described[s]} for s in statuses}
