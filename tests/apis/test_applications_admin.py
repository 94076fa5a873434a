"""The consumer pages of the Django admin: admins only, actions through the services."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from apis.choices import SubscriptionStatus
from apis.models import ApiKey, Subscription
from apis.services.keys import create_api_key
from apis.services.oauth_clients import create_oauth_client
from apis.services.subscriptions import subscribe

pytest_plugins = ["tests.apis.consumer_fixtures"]
pytestmark = pytest.mark.django_db

PAGES = ["application", "subscription", "apikey", "oauthclient", "revokedtoken"]


def _browser(user: Any) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def test_admins_see_the_pages_without_secrets(alice: Any, bob: Any, bobs_app: Any) -> None:
    key, full_key = create_api_key(bobs_app, actor=bob)
    browser = _browser(alice)
    for page in PAGES:
        assert browser.get(f"/admin/apis/{page}/").status_code == 200, page
    detail = browser.get(f"/admin/apis/apikey/{key.pk}/change/")
    assert detail.status_code == 200
    assert key.prefix.encode() in detail.content
    assert key.key_hash.encode() not in detail.content and full_key.encode() not in detail.content
    assert browser.get("/admin/apis/apikey/add/").status_code == 403


def test_operators_cannot_open_the_consumer_pages(oscar: Any, bobs_app: Any) -> None:
    browser = _browser(oscar)
    for page in PAGES:
        assert browser.get(f"/admin/apis/{page}/").status_code == 403, page


def test_admin_actions_go_through_the_services(
    alice: Any, bob: Any, bobs_app: Any, catalogue: Any
) -> None:
    key, _ = create_api_key(bobs_app, actor=bob)
    subscription = subscribe(
        bobs_app, actor=bob, api_version=catalogue.version, plan=catalogue.gated_plan
    )
    browser = _browser(alice)
    browser.post("/admin/apis/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    browser.post(
        "/admin/apis/subscription/", {"action": "approve", "_selected_action": [subscription.pk]}
    )
    assert ApiKey.objects.get().revoked_at is not None
    approved = Subscription.objects.get()
    assert approved.status == SubscriptionStatus.APPROVED and approved.decided_by == alice


def test_deleting_a_client_in_the_admin_deletes_the_provider_application(
    alice: Any, bob: Any, bobs_app: Any
) -> None:
    from oauth2_provider.models import Application as DotApplication

    client, _ = create_oauth_client(bobs_app, actor=bob)
    response = _browser(alice).post(f"/admin/apis/oauthclient/{client.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not DotApplication.objects.exists()
