"""Playwright (sync API) fixtures driving Debian's chromium against Django's live_server.

Never downloads a browser: it launches /usr/bin/chromium (override with MESHGATE_CHROMIUM).
Screenshots land in docs/screenshots/ (the README shows some of them).

Fixtures:
- `browser`: one headless chromium per test package (see playwright_instance for why).
- `page`: a fresh context + page per test; dialogs (data-confirm) are accepted, clipboard
  permissions granted for the live server, default timeout 10 s.
- `page_as(user, javascript=True)`: a fresh page already logged in as `user` (a real
  session cookie); javascript=False for the "works without JavaScript" checks.
- `screenshot(page, name)`: saves docs/screenshots/<name>.png (full page).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("MESHGATE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000


# Package scope, not session: Playwright's sync API keeps an event loop running in this
# thread until it stops, and the tests after this package call asyncio.run().
@pytest.fixture(scope="package")
def playwright_instance() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM}: install the Debian package `chromium`")
    # Django refuses ORM calls from a thread with a running loop unless told it is safe (it
    # is: the loop is idle while the test's own code runs). Only while the browser runs, so
    # the rest of the suite (and the deploy check's subprocess) keeps async safety on.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            yield playwright
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="package")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
    )
    yield browser
    browser.close()


def _new_context(browser: Browser, base_url: str, javascript: bool = True) -> BrowserContext:
    context = browser.new_context(
        base_url=base_url, viewport={"width": 1280, "height": 860}, java_script_enabled=javascript
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base_url)
    context.set_default_timeout(TIMEOUT_MS)
    return context


def _new_page(context: BrowserContext) -> Page:
    page = context.new_page()
    # `data-confirm` forms ask window.confirm(); Playwright would dismiss it.
    page.on("dialog", lambda dialog: dialog.accept())
    return page


@pytest.fixture
def page(browser: Browser, live_server: Any) -> Iterator[Page]:
    context = _new_context(browser, live_server.url)
    yield _new_page(context)
    context.close()


@pytest.fixture
def page_as(browser: Browser, live_server: Any) -> Iterator[Callable[[Any], Page]]:
    """Factory: page_as(user, javascript=True) -> a new page logged in as `user` (a real
    session cookie); javascript=False checks that a flow works without scripts."""
    from django.conf import settings
    from django.test import Client

    contexts: list[BrowserContext] = []

    def make(user: Any, javascript: bool = True) -> Page:
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        context = _new_context(browser, live_server.url, javascript)
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
        )
        contexts.append(context)
        return _new_page(context)

    yield make
    for context in contexts:
        context.close()


def take_screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG of `page` as docs/screenshots/<name>.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def screenshot() -> Callable[[Page, str], Path]:
    return take_screenshot
