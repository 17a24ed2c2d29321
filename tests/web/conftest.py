"""Fixtures of the page tests: a real hub on a real broker, its users, headless Chromium."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from hub.accounts import Accounts
from hub.settings import HubSettings
from hub.store import Store
from simulators.services import Mosquitto
from tests.api.kit import CHEAP, PASSWORD, PEOPLE
from tests.hub.receiver import hub_settings, running_hub, write_site

CHROMIUM = "/usr/bin/chromium"
BOARD = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@dataclass
class Hub:
    """A hub running in this test's loop, reachable at `base`."""

    settings: HubSettings
    site: str
    base: str


@pytest.fixture
async def hub(tmp_path: Path, mosquitto: Mosquitto, site_id: str) -> AsyncIterator[Hub]:
    """Run a hub on the test's broker with one user per role (language zh-CN)."""
    settings = hub_settings(tmp_path, mosquitto.url, write_site(tmp_path, site_id))
    async with running_hub(settings):
        store = Store(settings.store)
        accounts = Accounts(store, hasher=CHEAP)
        for username, (role, worker) in PEOPLE.items():
            site = None if role == "admin" else site_id
            accounts.add_user(username, PASSWORD, role, site=site, worker=worker)
        store.close()
        yield Hub(settings, site_id, f"http://{settings.http}")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Launch Debian's headless Chromium (never a downloaded browser); sound without a click."""
    async with async_playwright() as p:
        chromium = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--autoplay-policy=no-user-gesture-required", "--no-sandbox"],
        )
        try:
            yield chromium
        finally:
            await chromium.close()


async def logged_in(
    browser: Browser, hub: Hub, username: str, viewport: dict[str, int]
) -> tuple[BrowserContext, Page]:
    """Open a context of its own, log `username` in through the login page, wait for ready."""
    # bypass_csp: the test's own wait_for_function probes are evaluated as strings.
    context = await browser.new_context(
        viewport=viewport,  # type: ignore[arg-type]
        base_url=hub.base,
        bypass_csp=True,
    )
    page = await context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto("/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_selector("body[data-ready='1']")
    return context, page
