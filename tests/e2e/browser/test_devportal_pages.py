"""The developer portal in a real browser: main pages render, fit a phone, get screenshotted."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Page, expect

from apis.models import ApiKey
from apis.services.keys import create_api_key
from apis.services.subscriptions import subscribe

if TYPE_CHECKING:
    from tests.apis.consumer_fixtures import Catalogue

pytestmark = pytest.mark.e2e
pytest_plugins = ["tests.apis.consumer_fixtures"]


def test_anonymous_visitor_browses_the_catalogue_and_reads_a_reference(
    page: Page, catalogue: Catalogue, screenshot: Any
) -> None:
    page.goto("/catalogue/")
    expect(page.get_by_role("heading", name="API catalogue")).to_be_visible()
    screenshot(page, "devportal-catalogue")
    page.get_by_role("link", name="Stock").click()
    expect(page.locator("pre").first).to_contain_text("X-API-Key: $MESHGATE_KEY")
    screenshot(page, "devportal-api-detail")
    page.get_by_role("link", name="API reference").click()
    # Redoc renders the operations from the locally served bundle.
    expect(page.locator("#reference")).to_contain_text("listItems", timeout=15_000)
    screenshot(page, "devportal-reference")


def test_copy_button_puts_the_curl_on_the_clipboard(page: Page, catalogue: Catalogue) -> None:
    page.goto("/catalogue/stock/")
    page.get_by_role("button", name="Copy").first.click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()").startswith("curl -H")


def test_application_page_with_keys_subscriptions_and_usage(
    page_as: Any, bob: Any, bobs_app: Any, catalogue: Catalogue, screenshot: Any
) -> None:
    subscribe(bobs_app, actor=bob, api_version=catalogue.version, plan=catalogue.open_plan)
    create_api_key(bobs_app, actor=bob, name="production")
    page = page_as(bob)
    page.goto("/apps/")
    screenshot(page, "devportal-apps")
    page.get_by_role("link", name="bob-app").click()
    expect(page.locator("#subscriptions")).to_contain_text("Approved")
    expect(page.locator("#keys")).to_contain_text("production")
    screenshot(page, "devportal-app-detail")


def test_pages_fit_a_phone_screen(
    page_as: Any, bob: Any, bobs_app: Any, catalogue: Catalogue, screenshot: Any
) -> None:
    page = page_as(bob)
    page.set_viewport_size({"width": 375, "height": 740})
    for path in ("/catalogue/", "/catalogue/stock/", f"/apps/{bobs_app.pk}/"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
    # The menu folds behind a toggle that needs no JavaScript.
    menu_link = page.locator("nav.nav").get_by_role("link", name="My applications")
    expect(menu_link).to_be_hidden()
    page.locator("label.nav-toggle-label").click()
    expect(menu_link).to_be_visible()
    screenshot(page, "devportal-app-detail-phone")


def test_the_key_flow_works_without_javascript(
    page_as: Any, bob: Any, catalogue: Catalogue
) -> None:
    page = page_as(bob, javascript=False)
    page.goto("/apps/new/")
    page.locator("#id_name").fill("no-js")
    page.get_by_role("button", name="Create application").click()
    page.goto("/catalogue/stock/")
    page.locator("#id_plan").select_option(label="Open")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.locator("#subscriptions")).to_contain_text("Approved")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#secret-key").inner_text()
    assert ApiKey.objects.for_key(key) is not None
    page.get_by_role("link", name="I have copied it").click()
    page.get_by_role("link", name="Rotate").click()
    page.get_by_role("button", name="Rotate").click()
    new_key = page.locator("#secret-key").inner_text()
    page.get_by_role("link", name="I have copied it").click()
    row = page.locator("#keys tr", has_text=new_key.split("_")[1])
    row.get_by_role("button", name="Revoke").click()  # no confirm() without scripts: it just posts
    expect(page.get_by_text("is revoked")).to_be_visible()
    assert ApiKey.objects.for_key(new_key) is None
    assert ApiKey.objects.for_key(key) is not None  # the old key is in its grace period
