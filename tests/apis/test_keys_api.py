"""The API key endpoints: the secret appears once, lists show status, rotate and revoke."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from apis.models import ApiKey

pytest_plugins = ["tests.apis.consumer_fixtures"]
pytestmark = pytest.mark.django_db

URL = "/api/v1/api-keys/"


def test_create_shows_the_full_key_once(client_for: Any, bob: Any, bobs_app: Any) -> None:
    client = client_for(bob)
    created = client.post(URL, {"application": bobs_app.pk, "name": "ci"}, format="json")
    assert created.status_code == 201, created.content
    assert created["Cache-Control"] == "no-store"
    full_key = created.data["key"]
    assert full_key.startswith(f"mg_{created.data['prefix']}_")
    assert ApiKey.objects.for_key(full_key).pk == created.data["id"]
    listed = client.get(URL)
    detail = client.get(f"{URL}{created.data['id']}/")
    for body in (listed.content, detail.content):
        assert full_key.encode() not in body
        assert full_key.split("_", 2)[2].encode() not in body
    assert "key" not in detail.data and detail.data["status"] == "active"


def test_rotate_returns_a_new_key_and_the_old_one_shows_rotating(
    client_for: Any, bob: Any, bobs_app: Any
) -> None:
    client = client_for(bob)
    old = client.post(URL, {"application": bobs_app.pk}, format="json").data
    rotated = client.post(f"{URL}{old['id']}/rotate/", {"grace_seconds": 60}, format="json")
    assert rotated.status_code == 201, rotated.content
    assert rotated.data["key"] != old["key"]
    assert ApiKey.objects.for_key(rotated.data["key"]).pk == rotated.data["id"]
    assert client.get(f"{URL}{old['id']}/").data["status"] == "rotating"
    assert client.get(f"{URL}{old['id']}/").data["replaced_by"] == rotated.data["id"]


def test_revoked_and_expired_keys_stay_listed_with_their_status(
    client_for: Any, bob: Any, bobs_app: Any
) -> None:
    client = client_for(bob)
    now = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    with time_machine.travel(now, tick=False):
        revoked = client.post(URL, {"application": bobs_app.pk}, format="json").data
        soon = (now + dt.timedelta(minutes=1)).isoformat()
        expiring = client.post(
            URL, {"application": bobs_app.pk, "expires_at": soon}, format="json"
        ).data
        response = client.post(f"{URL}{revoked['id']}/revoke/")
        assert response.status_code == 200 and response.data["status"] == "revoked"
    with time_machine.travel(now + dt.timedelta(minutes=2), tick=False):
        statuses = {row["id"]: row["status"] for row in client.get(URL).data["results"]}
    assert statuses == {revoked["id"]: "revoked", expiring["id"]: "expired"}


def test_bad_input_names_the_field_and_writes_nothing(
    client_for: Any, bob: Any, bobs_app: Any
) -> None:
    client = client_for(bob)
    past = client.post(
        URL, {"application": bobs_app.pk, "expires_at": "2001-01-01T00:00:00Z"}, format="json"
    )
    assert past.status_code == 400 and "expires_at" in past.data
    missing = client.post(URL, {"name": "x"}, format="json")
    assert missing.status_code == 400 and "application" in missing.data
    key = client.post(URL, {"application": bobs_app.pk}, format="json").data
    negative = client.post(f"{URL}{key['id']}/rotate/", {"grace_seconds": -5}, format="json")
    assert negative.status_code == 400 and "grace_seconds" in negative.data
    assert ApiKey.objects.count() == 1


def test_rotating_a_revoked_key_is_a_clear_400(client_for: Any, bob: Any, bobs_app: Any) -> None:
    client = client_for(bob)
    key = client.post(URL, {"application": bobs_app.pk}, format="json").data
    client.post(f"{URL}{key['id']}/revoke/")
    response = client.post(f"{URL}{key['id']}/rotate/", {}, format="json")
    assert response.status_code == 400
    assert "revoked" in str(response.data["revoked_at"])
