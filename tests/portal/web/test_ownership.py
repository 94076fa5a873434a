"""A developer never sees or touches another developer's objects: every page is a 404."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from apis.choices import SubscriptionStatus
from apis.models import ApiKey, Application, OAuthClient, Subscription
from apis.services.keys import create_api_key
from apis.services.oauth_clients import create_oauth_client
from apis.services.subscriptions import subscribe
from tests.portal.web.conftest import csrf_post

if TYPE_CHECKING:
    from tests.apis.consumer_fixtures import Catalogue

pytest_plugins = ["tests.apis.consumer_fixtures"]
pytestmark = pytest.mark.django_db


@dataclass
class BobsThings:
    app: Application
    key: ApiKey
    client: OAuthClient
    subscription: Subscription


@pytest.fixture
def bobs_things(bob: Any, bobs_app: Application, catalogue: Catalogue) -> BobsThings:
    key, _ = create_api_key(bobs_app, actor=bob)
    client, _ = create_oauth_client(bobs_app, actor=bob)
    sub = subscribe(bobs_app, actor=bob, api_version=catalogue.version, plan=catalogue.open_plan)
    return BobsThings(bobs_app, key, client, sub)


PAGES = [
    "/apps/{app}/",
    "/apps/{app}/edit/",
    "/apps/{app}/delete/",
    "/apps/{app}/usage/",
    "/apps/{app}/keys/new/",
    "/apps/{app}/keys/{key}/rotate/",
    "/apps/{app}/clients/new/",
]
ACTIONS = [
    ("/apps/{app}/edit/", {"name": "pwned"}),
    ("/apps/{app}/delete/", {}),
    ("/apps/{app}/keys/new/", {"name": "stolen"}),
    ("/apps/{app}/keys/{key}/rotate/", {"grace_seconds": 0}),
    ("/apps/{app}/keys/{key}/revoke/", {}),
    ("/apps/{app}/clients/new/", {"grant_type": "client-credentials"}),
    ("/apps/{app}/clients/{client}/delete/", {}),
    ("/apps/{app}/subscriptions/{sub}/cancel/", {}),
]


def _url(template: str, things: BobsThings) -> str:
    return template.format(
        app=things.app.pk, key=things.key.pk, client=things.client.pk, sub=things.subscription.pk
    )


@pytest.mark.parametrize("template", PAGES)
@pytest.mark.parametrize("intruder", ["carol", "alice"])
def test_someone_elses_page_is_not_found(
    request: Any, web_client: Any, bobs_things: BobsThings, template: str, intruder: str
) -> None:
    # Admins manage consumers in the console; the developer portal shows only one's own.
    response = web_client(request.getfixturevalue(intruder)).get(_url(template, bobs_things))
    assert response.status_code == 404


@pytest.mark.parametrize(("template", "data"), ACTIONS)
def test_someone_elses_action_is_not_found_and_changes_nothing(
    web_client: Any, carol: Any, bobs_things: BobsThings, template: str, data: dict[str, Any]
) -> None:
    response = csrf_post(web_client(carol), _url(template, bobs_things), data)
    assert response.status_code == 404
    bobs_things.app.refresh_from_db()
    bobs_things.key.refresh_from_db()
    assert bobs_things.app.name == "bob-app"
    assert bobs_things.key.revoked_at is None and bobs_things.key.replaced_by_id is None
    assert ApiKey.objects.count() == 1 and OAuthClient.objects.count() == 1
    assert Subscription.objects.get().status == SubscriptionStatus.APPROVED


def test_a_key_of_my_other_app_is_not_reachable_through_this_one(
    web_client: Any, bob: Any, bobs_things: BobsThings
) -> None:
    from apis.services.applications import create_application

    other = create_application(bob, actor=bob, name="other")
    url = f"/apps/{other.pk}/keys/{bobs_things.key.pk}/revoke/"
    assert csrf_post(web_client(bob), url).status_code == 404


def test_carol_cannot_subscribe_bobs_application(
    web_client: Any, carol: Any, bobs_app: Any, catalogue: Catalogue
) -> None:
    data = {
        "application": bobs_app.pk,
        "version": catalogue.version.pk,
        "plan": catalogue.open_plan.pk,
    }
    response = csrf_post(web_client(carol), "/catalogue/stock/subscribe/", data)
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not Subscription.objects.exists()


@pytest.mark.parametrize("template", PAGES)
def test_anonymous_visitors_are_sent_to_log_in(
    web_client: Any, bobs_things: BobsThings, template: str
) -> None:
    response = web_client().get(_url(template, bobs_things))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")
