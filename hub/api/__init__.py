"""The hub's HTTP API (FastAPI): health, metrics and the alarm endpoints."""

from __future__ import annotations

from fastapi import FastAPI

from hub.api import errors
from hub.api.context import ApiContext
from hub.api.routes import alarms, events, public


def create_app(ctx: ApiContext) -> FastAPI:
    """Build the FastAPI app around one hub's engine, store and metrics."""
    app = FastAPI(title="Watchpost hub", version="1", docs_url=None, redoc_url=None)
    app.state.ctx = ctx
    errors.install(app)
    app.include_router(public)
    app.include_router(alarms)
    app.include_router(events)
    return app


__all__ = ["ApiContext", "create_app"]
