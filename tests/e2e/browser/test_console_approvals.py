"""In a real browser: an admin approves a pending subscription; the main pages fit a phone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from apis.models import Subscription
from apis.services.applications import create_application
from apis.services.catalogue import publish_version
from apis.services.plans import create_plan
from apis.services.subscriptions import subscribe
from registry.services.instances import register_instance
from tests.apis.fixtures.catalogue import PETSTORE, make_service, make_version, read

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def pending(alice: Any, bob: Any) -> Subscription:
    version = make_version(alice, source=read(PETSTORE), upstream_service=make_service(alice))
    publish_version(version, actor=alice)
    plan = create_plan(
        version.api,
        actor=alice,
        name="Partner",
        slug="partner",
        approval_required=True,
        requests_per_second=5,
    )
    app = create_application(bob, actor=bob, name="Bob's shop")
    return subscribe(app, actor=bob, api_version=version, plan=plan)


def test_an_admin_approves_a_pending_subscription(
    alice: Any,
    pending: Subscription,
    page_as: Callable[[Any], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    page = page_as(alice)
    page.goto("/console/approvals/")
    row = page.locator("#subscriptions tbody tr", has_text="Bob's shop")
    expect(row).to_contain_text("bob@example.test")
    screenshot(page, "console-approvals")
    row.get_by_role("button", name="Approve").click()
    expect(page.locator(".message.success")).to_contain_text("approved")
    expect(page.locator("#subscriptions")).to_contain_text("No pending subscriptions")
    pending.refresh_from_db()
    assert pending.status == "approved" and pending.decided_by == alice


def _fits(page: Page) -> bool:
    # Wide tables scroll inside their own box; the page itself must not scroll sideways.
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_the_main_pages_are_usable_at_phone_width(
    alice: Any,
    oscar: Any,
    pending: Subscription,
    page_as: Callable[[Any], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    service = make_service(alice, slug="orders")
    register_instance(service, actor=oscar, host="10.0.0.7", port=8080)
    admin = page_as(alice)
    admin.set_viewport_size(PHONE)
    for path in (
        "/console/apis/",
        "/console/approvals/",
        "/console/revisions/",
        "/console/audit/",
        f"/console/versions/{pending.api_version_id}/",
        "/operator/",
        "/operator/services/orders/",
        "/operator/gateways/",
    ):
        admin.goto(path)
        expect(admin.locator("main h1")).to_be_visible()
        assert _fits(admin), f"{path} scrolls sideways at {PHONE['width']} px"
    admin.goto("/operator/")
    screenshot(admin, "operator-services-phone")
    # The menu folds behind its toggle and opens without JavaScript.
    admin.locator("label.nav-toggle-label").click()
    expect(admin.get_by_role("link", name="Audit log")).to_be_visible()


def test_lifecycle_and_drain_work_with_javascript_off(
    alice: Any, oscar: Any, browser: Any, live_server: Any
) -> None:
    from django.conf import settings
    from django.test import Client

    version = make_version(alice, source=read(PETSTORE), upstream_service=make_service(alice))
    instance = register_instance(version.upstream_service, actor=oscar, host="10.0.0.9", port=81)
    client = Client()
    client.force_login(alice)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "url": live_server.url,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            }
        ]
    )
    try:
        page = context.new_page()
        page.goto(f"/console/versions/{version.pk}/")
        page.get_by_role("link", name="Publish…").click()
        page.get_by_role("button", name="Yes, publish").click()
        expect(page.locator("#version-state")).to_have_text("Published")
        page.goto("/operator/")
        page.locator(f"#instance-{instance.pk}").get_by_role("button", name="Drain").click()
        expect(page.locator(f"#instance-{instance.pk}")).to_have_attribute("data-state", "draining")
    finally:
        context.close()
    instance.refresh_from_db()
    assert instance.draining
