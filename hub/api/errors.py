"""Map every error a route can meet to one HTTP answer, in one place.

Exception tree of the API itself::

    Exception
     +-- ApiError            carries an HTTP status and a message
          +-- NotFoundError       404: no such alarm
          +-- UnauthorizedError   401: missing or wrong bearer token
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with an HTTP status, shown to the client as `{"detail": message}`."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(ApiError):
    """The requested resource does not exist."""

    status = 404


class UnauthorizedError(ApiError):
    """The request has no valid bearer token."""

    status = 401


def _answer(status: int, message: str, *, auth: bool = False) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if auth else None
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _answer(exc.status, exc.message, auth=isinstance(exc, UnauthorizedError))


async def _lookup_error(_request: Request, exc: Exception) -> JSONResponse:
    # The engine raises LookupError (KeyError) for an alarm id it does not know.
    return _answer(404, f"not found: {exc}")


async def _value_error(_request: Request, exc: Exception) -> JSONResponse:
    # The engine raises ValueError for an action the alarm's state does not allow.
    return _answer(409, str(exc))


def install(app: FastAPI) -> None:
    """Register the handlers that turn our and the engine's exceptions into HTTP answers."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(LookupError, _lookup_error)
    app.add_exception_handler(ValueError, _value_error)
