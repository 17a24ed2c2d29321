"""Serve the pages: `/login`, `/board` (duty officer), `/worker` (phone PWA), static files.

No build step: the HTML files under `static/` load plain JavaScript modules that talk to the
same `/api/v1` as everyone else, with the page's session cookie. The translation table is
served from `i18n` so pages and API errors read the same words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from hub.web.i18n import table

STATIC = Path(__file__).resolve().parent / "static"
router = APIRouter(include_in_schema=False)


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type="text/html; charset=utf-8")


@router.get("/")
async def root() -> RedirectResponse:
    """Send people to the board; it sends workers on to their phone page."""
    return RedirectResponse("/board", status_code=303)


@router.get("/login")
async def login_page() -> FileResponse:
    """Return the login page."""
    return _page("login.html")


@router.get("/board")
async def board_page() -> FileResponse:
    """Return the duty officer's alarm board."""
    return _page("board.html")


@router.get("/worker")
async def worker_page() -> FileResponse:
    """Return the worker's phone page."""
    return _page("worker.html")


@router.get("/i18n/{lang}.json")
async def translations(lang: Literal["zh-CN", "en"]) -> JSONResponse:
    """Return every text in one language."""
    return JSONResponse(table(lang), headers={"Cache-Control": "max-age=300"})


@router.get("/sw.js")
async def service_worker() -> FileResponse:
    """Return the service worker at the root, so its scope covers /worker."""
    return FileResponse(STATIC / "sw.js", media_type="text/javascript")


@router.get("/manifest.webmanifest")
async def manifest() -> FileResponse:
    """Return the PWA manifest of the worker's page."""
    return FileResponse(STATIC / "manifest.webmanifest", media_type="application/manifest+json")


def static_files() -> StaticFiles:
    """Return the static file app mounted at /static."""
    return StaticFiles(directory=STATIC)
