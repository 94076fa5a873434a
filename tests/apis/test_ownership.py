"""Carol (a second developer) walks every developer-owned endpoint and finds none of Bob's objects.

Every detail route of the consumer router must appear in DETAIL_CALLS, so an endpoint
added later cannot slip past this test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from apis.api.consumer_urls import router
from apis.choices import SubscriptionStatus
from apis.models import ApiKey, Application, OAuthClient, Subscription
from apis.services.keys import create_api_key
from apis.services.oauth_clients import create_oauth_client
from apis.services.subscriptions import subscribe

pytest_plugins = ["tests.apis.consumer_fixtures"]
pytestmark = pytest.mark.django_db

BASE = "/api/v1"


@dataclass
class BobsObjects:
    application: Application
    subscription: Subscription
    key: ApiKey
    client: OAuthClient

    def pk_for(self, prefix: str) -> int:
        return {
            "applications": self.application.pk,
            "subscriptions": self.subscription.pk,
            "api-keys": self.key.pk,
            "oauth-clients": self.client.pk,
        }[prefix]


# (method, route prefix, action suffix or "", body, status carol gets)
DETAIL_CALLS = [
    ("get", "applications", "", None, 404),
    ("put", "applications", "", {"name": "stolen"}, 404),
    ("patch", "applications", "", {"name": "stolen"}, 404),
    ("delete", "applications", "", None, 404),
    ("get", "subscriptions", "", None, 404),
    ("post", "subscriptions", "revoke", None, 404),
    # Approving is an admin's job: the role check answers before any lookup.
    ("post", "subscriptions", "approve", None, 403),
    ("post", "subscriptions", "reject", None, 403),
    ("get", "api-keys", "", None, 404),
    ("post", "api-keys", "rotate", {"grace_seconds": 0}, 404),
    ("post", "api-keys", "revoke", None, 404),
    ("get", "oauth-clients", "", None, 404),
    ("delete", "oauth-clients", "", None, 404),
]
LISTS = ["applications", "subscriptions", "api-keys", "oauth-clients"]


@pytest.fixture
def bobs(bob: Any, bobs_app: Any, catalogue: Any) -> BobsObjects:
    subscription = subscribe(
        bobs_app, actor=bob, api_version=catalogue.version, plan=catalogue.gated_plan
    )
    key, _ = create_api_key(bobs_app, actor=bob)
    client, _ = create_oauth_client(bobs_app, actor=bob)
    return BobsObjects(bobs_app, subscription, key, client)


def test_the_matrix_covers_every_detail_route() -> None:
    covered = {(prefix, suffix) for _, prefix, suffix, _, _ in DETAIL_CALLS}
    routes = set()
    for prefix, viewset, _ in router.registry:
        routes.add((prefix, ""))
        routes |= {
            (prefix, extra.url_path) for extra in viewset.get_extra_actions() if extra.detail
        }
    assert routes == covered


def test_carol_sees_none_of_bobs_objects_in_lists(
    client_for: Any, carol: Any, bobs: BobsObjects
) -> None:
    api = client_for(carol)
    for prefix in LISTS:
        response = api.get(f"{BASE}/{prefix}/")
        assert response.status_code == 200, prefix
        assert response.data["results"] == [], prefix
        filtered = api.get(f"{BASE}/{prefix}/", {"application": bobs.application.pk})
        assert filtered.status_code == 200 and filtered.data["results"] == [], prefix


@pytest.mark.parametrize(("method", "prefix", "suffix", "body", "expected"), DETAIL_CALLS)
def test_carol_gets_404_for_each_of_bobs_objects(
    method: str,
    prefix: str,
    suffix: str,
    body: Any,
    expected: int,
    client_for: Any,
    carol: Any,
    bobs: BobsObjects,
) -> None:
    url = f"{BASE}/{prefix}/{bobs.pk_for(prefix)}/" + (f"{suffix}/" if suffix else "")
    response = getattr(client_for(carol), method)(url, body, format="json")
    assert response.status_code == expected, response.content
    _assert_bobs_objects_untouched(bobs)


def test_carol_cannot_attach_anything_to_bobs_application(
    client_for: Any, carol: Any, bobs: BobsObjects, catalogue: Any
) -> None:
    api = client_for(carol)
    attempts = {
        "subscriptions": {"api_version": catalogue.version.pk, "plan": catalogue.open_plan.pk},
        "api-keys": {"name": "mine now"},
        "oauth-clients": {"grant_type": "client-credentials"},
    }
    for prefix, body in attempts.items():
        response = api.post(
            f"{BASE}/{prefix}/", {"application": bobs.application.pk, **body}, format="json"
        )
        assert response.status_code == 400 and "application" in response.data, prefix
    assert (
        ApiKey.objects.count() == 1
        and OAuthClient.objects.count() == 1
        and Subscription.objects.count() == 1
    )


def test_developers_cannot_see_admin_only_lists(
    client_for: Any, carol: Any, bob: Any, bobs: BobsObjects
) -> None:
    for user in (carol, bob):
        api = client_for(user)
        assert api.get(f"{BASE}/subscriptions/pending/").status_code == 403
        assert api.get(f"{BASE}/audit-log/").status_code == 403


def test_an_admin_reaches_bobs_objects(client_for: Any, alice: Any, bobs: BobsObjects) -> None:
    api = client_for(alice)
    for prefix in LISTS:
        assert api.get(f"{BASE}/{prefix}/{bobs.pk_for(prefix)}/").status_code == 200, prefix


def _assert_bobs_objects_untouched(bobs: BobsObjects) -> None:
    application = Application.objects.get(pk=bobs.application.pk)
    assert application.name == "bob-app"
    assert Subscription.objects.get(pk=bobs.subscription.pk).status == SubscriptionStatus.PENDING
    key = ApiKey.objects.get(pk=bobs.key.pk)
    assert key.revoked_at is None and key.replaced_by_id is None and key.expires_at is None
    assert OAuthClient.objects.filter(pk=bobs.client.pk).exists()
