"""The hub's HTTP API (FastAPI) and pages: health, metrics, accounts, alarms, feed, audit."""

from __future__ import annotations

from fastapi import FastAPI

from hub.api import alarms, audit_log, auth, care, errors, feed, rosters, site
from hub.api.context import ApiContext
from hub.api.dead_letters import router as dead_letters
from hub.api.routes import events, public
from hub.api.security import SecurityHeaders
from hub.web import pages


def create_app(ctx: ApiContext) -> FastAPI:
    """Build the FastAPI app around one hub's engine, store and metrics."""
    app = FastAPI(
        title="Watchpost hub",
        version="1",
        docs_url=None,
        redoc_url=None,
        description="Alarms, accounts, live feed, rosters, care rounds and broadcasts. "
        "Log in at POST /api/v1/auth/login; send the token as `Authorization: Bearer …`.",
    )
    app.state.ctx = ctx
    errors.install(app)
    app.add_middleware(SecurityHeaders, settings=ctx)
    app.include_router(public)
    app.include_router(auth.router)
    app.include_router(alarms.router)
    app.include_router(feed.router)
    app.include_router(audit_log.router)
    app.include_router(site.router)
    app.include_router(rosters.router)
    app.include_router(care.router)
    app.include_router(events)
    app.include_router(dead_letters)
    app.include_router(pages.router)
    app.mount("/static", pages.static_files(), name="static")
    return app


__all__ = ["ApiContext", "create_app"]
