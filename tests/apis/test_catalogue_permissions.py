"""Who may do what in the catalogue: admins write; developers and operators read what is live."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apis.models import ApiVersion
from apis.services.catalogue import deprecate_version, publish_version, retire_version
from apis.services.plans import create_plan
from tests.apis.fixtures.catalogue import PETSTORE, make_api, make_service, make_version, read

pytestmark = pytest.mark.django_db
V1 = "/api/v1"


@pytest.fixture
def live(alice) -> ApiVersion:
    version = make_version(alice, source=read(PETSTORE), upstream_service=make_service(alice))
    create_plan(version.api, actor=alice, name="Basic", slug="basic", requests_per_second=5)
    return publish_version(version, actor=alice)


@pytest.fixture
def draft(alice) -> ApiVersion:
    api = make_api(alice, slug="secret")
    create_plan(api, actor=alice, name="Hidden", slug="hidden")
    return make_version(alice, api=api, source=read(PETSTORE))


def urls_of(version: ApiVersion) -> list[str]:
    route = version.routes.first()
    plan = version.api.plans.first()
    return [
        f"{V1}/apis/{version.api.slug}/",
        f"{V1}/api-versions/{version.pk}/",
        f"{V1}/api-versions/{version.pk}/openapi/",
        f"{V1}/routes/{route.pk}/",
        f"{V1}/plans/{plan.pk}/",
    ]


@pytest.mark.parametrize("persona", ["bob", "oscar"])
def test_readers_see_live_versions_and_not_drafts(
    request, client_for, live, draft, persona: str
) -> None:
    client = client_for(request.getfixturevalue(persona))

    for url in urls_of(live):
        assert client.get(url).status_code == 200, url
    for url in urls_of(draft):
        assert client.get(url).status_code == 404, url
    assert [api["slug"] for api in client.get(f"{V1}/apis/").json()["results"]] == ["petstore"]
    assert [v["id"] for v in client.get(f"{V1}/api-versions/").json()["results"]] == [live.pk]
    assert client.get(f"{V1}/routes/").json()["count"] == 5
    assert [plan["slug"] for plan in client.get(f"{V1}/plans/").json()["results"]] == ["basic"]


def test_deprecated_versions_stay_visible_and_retired_ones_disappear(
    alice, bob, client_for, live
) -> None:
    client = client_for(bob)
    deprecate_version(live, sunset_at=timezone.now() + dt.timedelta(days=7), actor=alice)
    assert client.get(f"{V1}/api-versions/{live.pk}/").json()["state"] == "deprecated"

    retire_version(live, actor=alice)

    assert client.get(f"{V1}/api-versions/{live.pk}/").status_code == 404
    assert client.get(f"{V1}/apis/petstore/").status_code == 404


@pytest.mark.parametrize("persona", ["bob", "oscar"])
def test_readers_cannot_change_the_catalogue(request, client_for, live, persona: str) -> None:
    client = client_for(request.getfixturevalue(persona))
    version_url = f"{V1}/api-versions/{live.pk}"
    route = live.routes.first()
    plan = live.api.plans.first()

    attempts = [
        client.post(f"{V1}/apis/", {"name": "Mine", "slug": "mine"}, format="json"),
        client.patch(f"{V1}/apis/petstore/", {"name": "Renamed"}, format="json"),
        client.delete(f"{V1}/apis/petstore/"),
        client.post(
            f"{V1}/api-versions/",
            {"api": "petstore", "label": "v9", "base_path": "/x"},
            format="json",
        ),
        client.patch(f"{version_url}/", {"retries": 0}, format="json"),
        client.post(f"{version_url}/openapi/", {"document": read(PETSTORE)}, format="json"),
        client.post(f"{version_url}/retire/"),
        client.post(
            f"{version_url}/deprecate/", {"sunset_at": "2099-01-01T00:00:00Z"}, format="json"
        ),
        client.patch(f"{V1}/routes/{route.pk}/", {"enabled": False}, format="json"),
        client.post(
            f"{V1}/plans/", {"api": "petstore", "name": "Free", "slug": "free"}, format="json"
        ),
        client.patch(f"{V1}/plans/{plan.pk}/", {"requests_per_second": 1000}, format="json"),
        client.delete(f"{V1}/plans/{plan.pk}/"),
    ]

    assert [response.status_code for response in attempts] == [403] * len(attempts)
    live.refresh_from_db()
    route.refresh_from_db()
    assert (live.state, live.retries, route.enabled) == ("published", 2, True)


def test_anonymous_callers_get_nothing(client, live) -> None:
    for url in urls_of(live):
        assert client.get(url).status_code in (401, 403), url
