"""OAuth2 clients: created for an application, secret hashed by DOT and shown once, deletion."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from oauth2_provider.models import Application as DotApplication

from apis.models import OAuthClient
from apis.services.applications import delete_application
from apis.services.oauth_clients import create_oauth_client, delete_oauth_client

pytest_plugins = ["tests.apis.consumer_fixtures"]
pytestmark = pytest.mark.django_db

URL = "/api/v1/oauth-clients/"
CALLBACK = "https://shop.example.test/callback"


def test_the_secret_is_returned_once_and_stored_hashed(bob: Any, bobs_app: Any) -> None:
    client, secret = create_oauth_client(bobs_app, actor=bob)
    dot = DotApplication.objects.get(pk=client.client_id)
    assert len(secret) >= 43
    assert dot.client_secret != secret and secret not in dot.client_secret
    assert check_password(secret, dot.client_secret)
    assert dot.authorization_grant_type == "client-credentials"
    assert dot.client_type == "confidential" and dot.user == bob


def test_authorization_code_needs_a_redirect_uri(bob: Any, bobs_app: Any) -> None:
    with pytest.raises(ValidationError) as excinfo:
        create_oauth_client(bobs_app, actor=bob, grant_type="authorization-code")
    assert "redirect_uris" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        create_oauth_client(
            bobs_app, actor=bob, grant_type="authorization-code", redirect_uris="ftp://x.test/cb"
        )
    assert "redirect_uris" in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        create_oauth_client(bobs_app, actor=bob, grant_type="password")
    assert "grant_type" in excinfo.value.message_dict
    assert not DotApplication.objects.exists() and not OAuthClient.objects.exists()


def test_deleting_the_client_deletes_the_provider_application(bob: Any, bobs_app: Any) -> None:
    client, _ = create_oauth_client(bobs_app, actor=bob)
    delete_oauth_client(client, actor=bob)
    assert not DotApplication.objects.exists()


def test_deleting_the_application_deletes_its_clients(bob: Any, bobs_app: Any) -> None:
    create_oauth_client(bobs_app, actor=bob)
    create_oauth_client(
        bobs_app, actor=bob, grant_type="authorization-code", redirect_uris=CALLBACK
    )
    delete_application(bobs_app, actor=bob)
    assert not DotApplication.objects.exists() and not OAuthClient.objects.exists()


def test_rest_create_shows_the_secret_once(client_for: Any, bob: Any, bobs_app: Any) -> None:
    api = client_for(bob)
    body = {
        "application": bobs_app.pk,
        "grant_type": "authorization-code",
        "redirect_uris": CALLBACK,
    }
    created = api.post(URL, body, format="json")
    assert created.status_code == 201, created.content
    assert created["Cache-Control"] == "no-store"
    secret = created.data["client_secret"]
    assert (
        created.data["grant_type"] == "authorization-code"
        and created.data["redirect_uris"] == CALLBACK
    )
    listed = api.get(URL)
    assert [row["client_id"] for row in listed.data["results"]] == [created.data["client_id"]]
    assert secret.encode() not in listed.content
    assert secret.encode() not in api.get(f"{URL}{created.data['id']}/").content
    assert api.delete(f"{URL}{created.data['id']}/").status_code == 204
    assert not DotApplication.objects.exists()


def test_rest_bad_input_names_the_field(client_for: Any, bob: Any, bobs_app: Any) -> None:
    api = client_for(bob)
    no_uri = api.post(
        URL, {"application": bobs_app.pk, "grant_type": "authorization-code"}, format="json"
    )
    assert no_uri.status_code == 400 and "redirect_uris" in no_uri.data
    bad_grant = api.post(URL, {"application": bobs_app.pk, "grant_type": "implicit"}, format="json")
    assert bad_grant.status_code == 400 and "grant_type" in bad_grant.data
    assert not DotApplication.objects.exists()


def test_the_audit_log_names_the_actor_and_holds_no_secret(bob: Any, bobs_app: Any) -> None:
    from auditlog.models import LogEntry

    _, secret = create_oauth_client(bobs_app, actor=bob)
    entries = LogEntry.objects.filter(
        content_type__app_label__in=["apis", "oauth2_provider"], action=0
    )
    assert {entry.content_type.model for entry in entries} >= {"oauthclient", "application"}
    assert all(entry.actor == bob for entry in entries)
    stored = " ".join(str(entry.changes) for entry in LogEntry.objects.all())
    hashed = DotApplication.objects.get().client_secret
    assert secret not in stored and hashed not in stored


@pytest.mark.django_db
def test_dots_own_client_management_pages_are_not_routed(client_for, bob) -> None:  # type: ignore[no-untyped-def]
    response = client_for(bob).get("/o/applications/register/")
    assert response.status_code == 404
