"""No page does N+1 queries: fixed bounds with 1,000 APIs and 10,000 applications."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model

from apis.choices import Lifecycle, SubscriptionStatus
from apis.models import Api, ApiKey, ApiVersion, Application, Plan, Route, Subscription

pytestmark = pytest.mark.django_db

APIS = 1000
APPLICATIONS = 10_000
BOBS_APPS = 60  # three pages of the list
BOBS_SUBSCRIPTIONS = 40


@pytest.fixture
def crowd(bob: Any) -> Application:
    """Rows made in bulk (no signals, no publish): the bounds are about reads."""
    apis = Api.objects.bulk_create(
        Api(name=f"API {n:04}", slug=f"api-{n:04}", description="d") for n in range(APIS)
    )
    versions = ApiVersion.objects.bulk_create(
        ApiVersion(api=api, label="v1", base_path=f"/{api.slug}/v1", state=Lifecycle.PUBLISHED)
        for api in apis
    )
    ApiVersion.objects.bulk_create(
        ApiVersion(api=api, label="v2", base_path=f"/{api.slug}/v2", state=Lifecycle.DEPRECATED)
        for api in apis[:50]
    )
    Route.objects.bulk_create(
        Route(version=version, method=method, path_template=f"/things/{method.lower()}")
        for version in versions
        for method in ("GET", "POST")
    )
    plans = Plan.objects.bulk_create(Plan(api=api, name="Basic", slug="basic") for api in apis)
    others = get_user_model().objects.bulk_create(
        get_user_model()(username=f"dev{n}", email=f"dev{n}@example.test") for n in range(100)
    )
    Application.objects.bulk_create(
        Application(owner=others[n % 100], name=f"app {n}") for n in range(APPLICATIONS - BOBS_APPS)
    )
    mine = Application.objects.bulk_create(
        Application(owner=bob, name=f"bob {n:02}") for n in range(BOBS_APPS)
    )
    app = mine[0]
    Subscription.objects.bulk_create(
        Subscription(
            application=app,
            api_version=versions[n],
            plan=plans[n],
            status=SubscriptionStatus.APPROVED,
        )
        for n in range(BOBS_SUBSCRIPTIONS)
    )
    ApiKey.objects.bulk_create(
        ApiKey(application=app, name=f"k{n}", prefix=f"key{n:05}", key_hash="0" * 64)
        for n in range(30)
    )
    return app


def test_the_catalogue_pages_have_a_fixed_query_count(
    crowd: Application, web_client: Any, bob: Any, django_assert_max_num_queries: Any
) -> None:
    client = web_client(bob)
    with django_assert_max_num_queries(6):
        page = client.get("/catalogue/?page=3").content.decode()
    assert "API 0050" in page and "Page 3 of 40" in page
    with django_assert_max_num_queries(6):
        assert "deprecated" in client.get("/catalogue/?q=API 000").content.decode()
    # Session, user, API, versions, routes, plans, and the subscribe form's choices.
    with django_assert_max_num_queries(14):
        page = client.get("/catalogue/api-0001/").content.decode()
    assert "/things/get" in page and "bob 00" in page


def test_my_application_pages_have_a_fixed_query_count(
    crowd: Application,
    web_client: Any,
    bob: Any,
    django_assert_max_num_queries: Any,
    redis_client: Any,
) -> None:
    client = web_client(bob)
    with django_assert_max_num_queries(6):
        page = client.get("/apps/?page=2").content.decode()
    assert "bob 25" in page and "bob 24" not in page and "app 1" not in page
    with django_assert_max_num_queries(10):
        page = client.get(f"/apps/{crowd.pk}/").content.decode()
    assert page.count("badge approved") == BOBS_SUBSCRIPTIONS and page.count("data-prefix=") == 30
    with django_assert_max_num_queries(6):
        assert client.get(f"/apps/{crowd.pk}/usage/?days=30").status_code == 200
