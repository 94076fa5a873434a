"""APIs list, search, pagination, create, versions and the lifecycle buttons."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apis.models import Api, ApiVersion
from apis.services.catalogue import create_api
from registry.models import Service

pytestmark = pytest.mark.django_db


def test_the_list_searches_and_pages_through_apis(alice: Any, as_alice: Client) -> None:
    for n in range(30):
        create_api(actor=alice, name=f"Orders {n:02d}", slug=f"orders-{n:02d}")
    create_api(actor=alice, name="Weather", slug="weather", description="forecasts")

    first = as_alice.get(reverse("console:api_list"))
    assert first.status_code == 200
    assert "Page 1 of 2" in first.text and "31 in all" in first.text
    second = as_alice.get(reverse("console:api_list"), {"page": 2})
    assert "Weather" in second.text and "Orders 00" not in second.text

    found = as_alice.get(reverse("console:api_list"), {"q": "forecast"})
    assert "Weather" in found.text and "Orders" not in found.text
    none = as_alice.get(reverse("console:api_list"), {"q": "nothing-like-this"})
    assert "No API matches" in none.text


def test_an_admin_creates_an_api_and_a_duplicate_slug_is_named(as_alice: Client) -> None:
    response = as_alice.post(
        reverse("console:api_create"), {"name": "Payments", "slug": "payments"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("console:api_detail", args=["payments"])
    assert Api.objects.get(slug="payments").owner.username == "alice"

    again = as_alice.post(reverse("console:api_create"), {"name": "Other", "slug": "payments"})
    assert again.status_code == 200
    assert "slug" in again.context["form"].errors
    assert Api.objects.filter(slug="payments").count() == 1


def test_a_bad_slug_is_refused_with_a_message(as_alice: Client) -> None:
    response = as_alice.post(reverse("console:api_create"), {"name": "X", "slug": "has space"})
    assert response.status_code == 200
    assert response.context["form"].errors["slug"]


def test_an_admin_adds_a_version_and_a_taken_mount_is_reported_on_base_path(
    as_alice: Client, petstore: ApiVersion, upstream: Service
) -> None:
    url = reverse("console:version_create", args=["petstore"])
    data = {"label": "v2", "base_path": "/petstore/v1", "auth_mode": "key", "upstream_path": "/"}
    clash = as_alice.post(url, data)
    assert clash.status_code == 200
    assert "already the mount" in " ".join(clash.context["form"].errors["base_path"])

    data.update(base_path="/petstore/v2", upstream_service=upstream.pk)
    created = as_alice.post(url, data)
    version = ApiVersion.objects.get(api__slug="petstore", label="v2")
    assert created["Location"] == reverse("console:version_detail", args=[version.pk])
    assert version.state == "draft" and version.upstream_service == upstream


def test_publish_asks_for_confirmation_then_publishes(
    as_alice: Client, petstore: ApiVersion
) -> None:
    url = reverse("console:version_lifecycle", args=[petstore.pk, "publish"])
    confirm = as_alice.get(url)
    assert confirm.status_code == 200 and "Yes, publish" in confirm.text
    petstore.refresh_from_db()
    assert petstore.state == "draft"  # looking at the question changes nothing

    done = as_alice.post(url, follow=True)
    petstore.refresh_from_db()
    assert petstore.state == "published"
    assert "is now published" in done.text


def test_publishing_without_an_upstream_explains_why_not(alice: Any, as_alice: Client) -> None:
    from tests.apis.fixtures.catalogue import PETSTORE, make_version, read

    version = make_version(alice, source=read(PETSTORE))
    url = reverse("console:version_lifecycle", args=[version.pk, "publish"])
    response = as_alice.post(url, follow=True)
    assert "choose the upstream service before publishing" in response.text
    version.refresh_from_db()
    assert version.state == "draft"


def test_deprecate_needs_a_future_sunset_date(
    alice: Any, as_alice: Client, petstore: ApiVersion
) -> None:
    from apis.services.catalogue import publish_version

    publish_version(petstore, actor=alice)
    url = reverse("console:version_lifecycle", args=[petstore.pk, "deprecate"])
    past = as_alice.post(url, {"sunset_at": "2001-01-01T00:00"})
    assert past.status_code == 200
    assert "must be in the future" in past.text
    missing = as_alice.post(url, {})
    assert "This field is required" in missing.text

    sunset = (timezone.now() + dt.timedelta(days=60)).strftime("%Y-%m-%dT%H:%M")
    as_alice.post(url, {"sunset_at": sunset})
    petstore.refresh_from_db()
    assert petstore.state == "deprecated" and petstore.sunset_at is not None


def test_retire_is_final_and_the_page_offers_no_more_buttons(
    alice: Any, as_alice: Client, petstore: ApiVersion
) -> None:
    from apis.services.catalogue import publish_version

    publish_version(petstore, actor=alice)
    as_alice.post(reverse("console:version_lifecycle", args=[petstore.pk, "retire"]))
    petstore.refresh_from_db()
    assert petstore.state == "retired"
    page = as_alice.get(reverse("console:version_detail", args=[petstore.pk]))
    assert "Publish…" not in page.text and "Retire…" not in page.text
    again = as_alice.post(
        reverse("console:version_lifecycle", args=[petstore.pk, "publish"]), follow=True
    )
    assert "A retired version cannot be published" in again.text
    stale_page = as_alice.get(
        reverse("console:version_lifecycle", args=[petstore.pk, "retire"]), follow=True
    )
    assert "cannot be retired" in stale_page.text


def test_version_page_lists_its_routes(as_alice: Client, petstore: ApiVersion) -> None:
    page = as_alice.get(reverse("console:version_detail", args=[petstore.pk]))
    assert page.status_code == 200
    assert "/pets" in page.text and "listPets" in page.text


def test_settings_form_changes_the_upstream_path(
    as_alice: Client, petstore: ApiVersion, upstream: Service
) -> None:
    url = reverse("console:version_edit", args=[petstore.pk])
    assert as_alice.get(url).status_code == 200
    data = {
        "label": "v1",
        "base_path": "/petstore/v1",
        "host": "",
        "upstream_service": upstream.pk,
        "auth_mode": "oauth2",
        "upstream_path": "/api",
    }
    assert as_alice.post(url, data).status_code == 302
    petstore.refresh_from_db()
    assert (petstore.upstream_path, petstore.auth_mode) == ("/api", "oauth2")


def test_an_admin_renames_an_api(as_alice: Client, petstore: ApiVersion) -> None:
    url = reverse("console:api_edit", args=["petstore"])
    assert as_alice.get(url).status_code == 200
    response = as_alice.post(url, {"name": "Pet Shop", "slug": "petstore", "description": "pets"})
    assert response["Location"] == reverse("console:api_detail", args=["petstore"])
    petstore.api.refresh_from_db()
    assert (petstore.api.name, petstore.api.description) == ("Pet Shop", "pets")


def test_an_admin_overrides_a_route(as_alice: Client, petstore: ApiVersion) -> None:
    route = petstore.routes.get(method="GET", path_template="/pets")
    url = reverse("console:route_edit", args=[route.pk])
    page = as_alice.get(url)
    assert page.status_code == 200 and "GET /pets" in page.text
    data = {"auth_mode": "oauth2", "scopes": "pets:read, pets:list", "timeout_ms": 1500}
    response = as_alice.post(url, data)  # "enabled" unticked: the route is switched off
    assert response["Location"] == reverse("console:version_detail", args=[petstore.pk])
    route.refresh_from_db()
    assert (route.auth_mode, route.scopes, route.timeout_ms, route.enabled) == (
        "oauth2",
        ["pets:read", "pets:list"],
        1500,
        False,
    )
    bad = as_alice.post(url, {"timeout_ms": 0, "enabled": "on"})
    assert bad.status_code == 200 and "timeout_ms" in bad.context["form"].errors
