"""Applications: owned by their developer, names unique per owner, deletion takes their children."""

from __future__ import annotations

from typing import Any

import pytest

from apis.models import ApiKey, Application
from apis.services.keys import create_api_key

pytest_plugins = ["tests.apis.consumer_fixtures"]
pytestmark = pytest.mark.django_db

URL = "/api/v1/applications/"


def test_a_developer_creates_an_application_they_own(client_for: Any, bob: Any) -> None:
    response = client_for(bob).post(URL, {"name": "shop", "description": "web shop"}, format="json")
    assert response.status_code == 201, response.content
    assert response.data["owner"] == "bob"
    assert Application.objects.get(pk=response.data["id"]).owner == bob


def test_a_duplicate_name_is_a_400_naming_the_field(client_for: Any, bob: Any, carol: Any) -> None:
    assert client_for(bob).post(URL, {"name": "shop"}, format="json").status_code == 201
    again = client_for(bob).post(URL, {"name": "shop"}, format="json")
    assert again.status_code == 400 and "name" in again.data
    # Another developer may use the same name.
    assert client_for(carol).post(URL, {"name": "shop"}, format="json").status_code == 201


def test_the_owner_renames_and_deletes_it(client_for: Any, bob: Any, bobs_app: Any) -> None:
    client = client_for(bob)
    create_api_key(bobs_app, actor=bob)
    renamed = client.patch(f"{URL}{bobs_app.pk}/", {"name": "renamed"}, format="json")
    assert renamed.status_code == 200 and renamed.data["name"] == "renamed"
    assert client.delete(f"{URL}{bobs_app.pk}/").status_code == 204
    assert not Application.objects.exists() and not ApiKey.objects.exists()


def test_the_owner_cannot_be_changed_through_the_api(
    client_for: Any, bob: Any, carol: Any, bobs_app: Any
) -> None:
    client_for(bob).patch(f"{URL}{bobs_app.pk}/", {"owner": "carol"}, format="json")
    bobs_app.refresh_from_db()
    assert bobs_app.owner == bob


def test_an_admin_sees_every_application(
    client_for: Any, alice: Any, bob: Any, carol: Any, bobs_app: Any
) -> None:
    client_for(carol).post(URL, {"name": "carol-app"}, format="json")
    names = {row["name"] for row in client_for(alice).get(URL).data["results"]}
    assert names == {"bob-app", "carol-app"}
    assert {row["name"] for row in client_for(bob).get(URL).data["results"]} == {"bob-app"}


def test_anonymous_callers_get_nothing(bobs_app: Any) -> None:
    from rest_framework.test import APIClient

    assert APIClient().get(URL).status_code in (401, 403)
