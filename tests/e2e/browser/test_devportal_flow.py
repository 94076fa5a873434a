"""A developer's whole path in a real browser, against a real gateway process.

Sign up (confirming the email from the outbox), create an application, subscribe, copy
the key from the page, call the gateway with it (200), revoke it and get 401 within a
second. Publishing runs for real: model signals -> a Celery worker -> Redis -> the gateway.
"""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.parse
import urllib.request
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from apis.choices import AuthMode
from apis.models import Application
from apis.services.catalogue import create_api, create_api_version, publish_version
from apis.services.plans import create_plan
from registry.services.instances import register_instance
from registry.services.services import create_service
from tests.gateway_runtime.conftest import http_get, ok_upstream, start_gateway, wait_until  # noqa: F401

pytestmark = [pytest.mark.e2e]
pytest_plugins = ["tests.apis.consumer_fixtures"]  # bobs_app

PASSWORD = "plum-orchard-47"  # noqa: S105 - a test account
DOCUMENT = json.dumps(
    {
        "openapi": "3.0.3",
        "info": {"title": "Weather", "version": "1"},
        "paths": {
            "/forecast": {
                "get": {"operationId": "getForecast", "responses": {"200": {"description": "ok"}}}
            }
        },
    }
)


@pytest.fixture
def weather_api(alice: Any, oscar: Any, ok_upstream: int) -> Any:  # noqa: F811
    service = create_service(actor=oscar, name="Weather", slug="weather")
    register_instance(service, actor=oscar, host="127.0.0.1", port=ok_upstream)
    api = create_api(actor=alice, name="Weather", slug="weather", description="Forecasts by city.")
    version = create_api_version(
        api,
        actor=alice,
        label="v1",
        base_path="/weather/v1",
        upstream_service=service,
        source=DOCUMENT,
        auth_mode=AuthMode.KEY_OR_OAUTH2,
    )
    create_plan(api, actor=alice, name="Free", slug="free", requests_per_second=50)
    return publish_version(version, actor=alice)


def _sign_up_and_confirm(page: Page, email: str, screenshot: Any) -> None:
    page.goto("/accounts/signup/")
    page.locator("#id_email").fill(email)
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    screenshot(page, "devportal-signup")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    link = re.search(r"https?://\S+/accounts/confirm/\S+", mail.outbox[-1].body)
    assert link, mail.outbox[-1].body
    page.goto(link.group(0))
    expect(page.get_by_text("Your email is confirmed")).to_be_visible()


def _create_app_and_subscribe(page: Page) -> None:
    page.get_by_role("link", name="New application").click()
    page.get_by_label("Name").fill("weather-widget")
    page.get_by_role("button", name="Create application").click()
    expect(page.get_by_role("heading", name="weather-widget")).to_be_visible()
    page.get_by_role("link", name="Browse the catalogue").click()
    page.get_by_role("link", name="Weather").click()
    page.get_by_label("Plan").select_option(label="Free")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.locator("#subscriptions")).to_contain_text("Approved")


def _create_and_copy_key(page: Page, screenshot: Any) -> str:
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_text("it is shown only this once")).to_be_visible()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    screenshot(page, "devportal-key-shown-once")
    copied: str = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#secret-key").inner_text() and copied.startswith("mg_")
    return copied


def _usage_shows_the_calls(page: Page, screenshot: Any) -> None:
    """The gateway flushes its counters every ~5 s; the usage page reads them from Redis."""
    app = Application.objects.get(name="weather-widget")
    total = page.locator("table.usage tfoot th.num").first

    def counted() -> bool:
        page.goto(f"/apps/{app.pk}/usage/")
        return int(total.inner_text()) >= 2  # at least the two 200s of this test

    wait_until(counted, 15, 0.5, "the gateway's usage flush to show on the usage page")
    screenshot(page, "devportal-usage")


def test_a_developer_signs_up_gets_a_key_calls_the_gateway_and_revokes_it(
    page: Page,
    weather_api: Any,
    celery_worker: Any,
    redis_url: str,
    start_gateway: Any,  # noqa: F811
    settings: Any,
    screenshot: Any,
) -> None:
    gateway = start_gateway(redis=redis_url, wait="alive")
    settings.MESHGATE_GATEWAY = {"PUBLIC_URL": gateway.url}
    url = f"{gateway.url}/weather/v1/forecast"

    _sign_up_and_confirm(page, "dana@example.test", screenshot)
    _create_app_and_subscribe(page)
    key = _create_and_copy_key(page, screenshot)

    # The key reaches the gateway through a publish: poll until it is served.
    wait_until(
        lambda: http_get(url, headers={"X-API-Key": key})[0] == 200, 15, 0.05, "the key to work"
    )
    status, _headers, body = http_get(url, headers={"X-API-Key": key})
    assert (status, body) == (200, b"ok /forecast")
    assert http_get(url, headers={"X-API-Key": key[:-2] + "xx"})[0] == 401

    _usage_shows_the_calls(page, screenshot)
    page.get_by_role("link", name="weather-widget").click()
    # The clock starts when the portal answers the revoke (the row is committed by then);
    # from there it is publish debounce + compile + Redis + the gateway's swap.
    with page.expect_response(lambda response: "/revoke/" in response.url):
        page.get_by_role("button", name="Revoke").click()  # the confirm() dialog is accepted
    revoked_at = time.monotonic()
    wait_until(
        lambda: http_get(url, headers={"X-API-Key": key})[0] == 401, 1.0, 0.02, "401 after revoke"
    )
    elapsed = time.monotonic() - revoked_at
    assert elapsed < 1.0, f"the gateway took {elapsed:.2f} s to refuse the revoked key"
    print(f"revoked key refused by the gateway {elapsed:.3f} s after the portal's answer")
    expect(page.get_by_text("is revoked")).to_be_visible()
    screenshot(page, "devportal-key-revoked")


def _client_credentials_token(token_url: str, client_id: str, secret: str) -> str:
    body = urllib.parse.urlencode({"grant_type": "client_credentials"}).encode()
    request = urllib.request.Request(token_url, data=body, method="POST")  # noqa: S310 - http only
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    request.add_header("Authorization", f"Basic {credentials}")
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        token: str = json.loads(response.read())["access_token"]
    return token


def test_an_oauth_client_made_in_the_portal_gets_a_token_the_gateway_accepts(
    page_as: Any,
    bob: Any,
    bobs_app: Any,
    weather_api: Any,
    celery_worker: Any,
    redis_url: str,
    start_gateway: Any,  # noqa: F811
    live_server: Any,
    screenshot: Any,
) -> None:
    gateway = start_gateway(redis=redis_url, wait="alive")
    url = f"{gateway.url}/weather/v1/forecast"
    page = page_as(bob)
    page.goto("/catalogue/weather/")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.locator("#subscriptions")).to_contain_text("Approved")
    page.get_by_role("link", name="New OAuth2 client").click()
    page.get_by_role("button", name="Create client").click()
    client_id = page.locator("#client-id").inner_text()
    secret = page.locator("#client-secret").inner_text()
    screenshot(page, "devportal-oauth-client-shown-once")

    token = _client_credentials_token(f"{live_server.url}/o/token/", client_id, secret)
    bearer = {"Authorization": f"Bearer {token}"}
    wait_until(lambda: http_get(url, headers=bearer)[0] == 200, 15, 0.05, "the token to work")
    assert http_get(url)[0] == 401

    page.get_by_role("link", name="I have copied it").click()
    page.locator("#clients").get_by_role("button", name="Delete").click()
    expect(page.get_by_text("OAuth2 client deleted")).to_be_visible()
    wait_until(lambda: http_get(url, headers=bearer)[0] == 401, 5, 0.05, "the token to be refused")
