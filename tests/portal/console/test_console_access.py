"""Who may open which page: admins the console, operators (and admins) the dashboards."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apis.models import ApiVersion

pytestmark = pytest.mark.django_db

CONSOLE_PAGES = [
    ("console:api_list", {}),
    ("console:api_create", {}),
    ("console:approvals", {}),
    ("console:revisions", {}),
    ("console:revision_diff", {}),
    ("console:audit", {}),
]
OPERATOR_PAGES = [("operator:services", {}), ("operator:gateways", {})]


@pytest.mark.parametrize(("name", "kwargs"), CONSOLE_PAGES)
def test_only_admins_open_console_pages(
    name: str, kwargs: dict[str, Any], as_alice: Client, as_oscar: Client, as_bob: Client
) -> None:
    url = reverse(name, kwargs=kwargs)
    assert as_alice.get(url).status_code == 200
    assert as_oscar.get(url).status_code == 403
    assert as_bob.get(url).status_code == 403


@pytest.mark.parametrize(("name", "kwargs"), CONSOLE_PAGES + OPERATOR_PAGES)
def test_anonymous_visitors_are_sent_to_log_in(name: str, kwargs: dict[str, Any]) -> None:
    url = reverse(name, kwargs=kwargs)
    response = Client().get(url)
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"] and "next=" in response["Location"]


@pytest.mark.parametrize(("name", "kwargs"), OPERATOR_PAGES)
def test_operators_and_admins_open_dashboards_but_developers_do_not(
    name: str, kwargs: dict[str, Any], as_alice: Client, as_oscar: Client, as_bob: Client
) -> None:
    url = reverse(name, kwargs=kwargs)
    assert as_oscar.get(url).status_code == 200
    assert as_alice.get(url).status_code == 200
    assert as_bob.get(url).status_code == 403


def test_developers_cannot_change_the_catalogue_by_posting(
    as_bob: Client, petstore: ApiVersion
) -> None:
    url = reverse("console:version_lifecycle", args=[petstore.pk, "publish"])
    assert as_bob.post(url).status_code == 403
    petstore.refresh_from_db()
    assert petstore.state == "draft"


def test_forms_refuse_a_post_without_csrf_token(alice: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(reverse("console:api_create"), {"name": "X", "slug": "x"})
    assert response.status_code == 403


def test_every_object_page_refuses_developers_and_operators(
    alice: Any, as_alice: Client, as_oscar: Client, as_bob: Client, petstore: ApiVersion
) -> None:
    from apis.services.plans import create_plan

    plan = create_plan(petstore.api, actor=alice, name="Free", slug="free")
    route = petstore.routes.first()
    urls = [
        reverse("console:api_detail", args=["petstore"]),
        reverse("console:api_edit", args=["petstore"]),
        reverse("console:version_create", args=["petstore"]),
        reverse("console:plan_create", args=["petstore"]),
        reverse("console:version_detail", args=[petstore.pk]),
        reverse("console:version_edit", args=[petstore.pk]),
        reverse("console:version_lifecycle", args=[petstore.pk, "publish"]),
        reverse("console:openapi_upload", args=[petstore.pk]),
        reverse("console:route_edit", args=[route.pk]),
        reverse("console:plan_edit", args=[plan.pk]),
    ]
    for url in urls:
        assert as_alice.get(url).status_code == 200, url
        assert as_oscar.get(url).status_code == 403, url
        assert as_bob.get(url).status_code == 403, url
        assert as_bob.post(url, {"name": "x", "slug": "x"}).status_code == 403, url


def test_a_live_panel_polled_after_logout_sends_the_page_to_log_in() -> None:
    response = Client().get(reverse("operator:services"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("accounts:login"))
