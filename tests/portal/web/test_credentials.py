"""API keys and OAuth2 clients: secrets shown exactly once, rotation with grace, revocation."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from oauth2_provider.models import get_application_model

from apis.models import ApiKey, OAuthClient
from apis.services.keys import create_api_key, hash_api_key
from tests.portal.web.conftest import csrf_post

pytest_plugins = ["tests.apis.consumer_fixtures"]
pytestmark = pytest.mark.django_db

KEY_PATTERN = re.compile(r'<code id="secret-key">(mg_[a-z2-7]{8}_[A-Za-z0-9_\-]+)</code>')


def test_a_new_key_is_shown_once_and_only_its_hash_is_kept(
    web_client: Any, bob: Any, bobs_app: Any
) -> None:
    client = web_client(bob)
    response = csrf_post(client, f"/apps/{bobs_app.pk}/keys/new/", {"name": "prod"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    full_key = KEY_PATTERN.search(response.content.decode()).group(1)  # type: ignore[union-attr]
    key = ApiKey.objects.get(application=bobs_app)
    assert key.key_hash == hash_api_key(full_key) and full_key.startswith(f"mg_{key.prefix}_")
    detail = client.get(f"/apps/{bobs_app.pk}/").content.decode()
    assert full_key not in detail and f"mg_{key.prefix}_…" in detail


def test_a_key_expiry_in_the_past_is_refused_on_the_field(
    web_client: Any, bob: Any, bobs_app: Any
) -> None:
    past = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = csrf_post(web_client(bob), f"/apps/{bobs_app.pk}/keys/new/", {"expires_at": past})
    assert response.status_code == 200
    assert "must be in the future" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_rotation_gives_a_new_key_and_keeps_the_old_for_the_grace(
    web_client: Any, bob: Any, bobs_app: Any
) -> None:
    old, _ = create_api_key(bobs_app, actor=bob)
    client = web_client(bob)
    assert (
        "grace period" in client.get(f"/apps/{bobs_app.pk}/keys/{old.pk}/rotate/").content.decode()
    )
    before = timezone.now()
    response = csrf_post(
        client, f"/apps/{bobs_app.pk}/keys/{old.pk}/rotate/", {"grace_seconds": 3600}
    )
    full_key = KEY_PATTERN.search(response.content.decode()).group(1)  # type: ignore[union-attr]
    old.refresh_from_db()
    new = ApiKey.objects.get(pk=old.replaced_by_id)
    assert new.key_hash == hash_api_key(full_key)
    assert old.is_usable() and before + timedelta(
        seconds=3590
    ) < old.expires_at < before + timedelta(seconds=3610)
    assert "rotated, in grace" in client.get(f"/apps/{bobs_app.pk}/").content.decode()


def test_rotating_twice_or_with_a_made_up_grace_says_why(
    web_client: Any, bob: Any, bobs_app: Any
) -> None:
    old, _ = create_api_key(bobs_app, actor=bob)
    client = web_client(bob)
    bad = csrf_post(client, f"/apps/{bobs_app.pk}/keys/{old.pk}/rotate/", {"grace_seconds": 99})
    assert "Select a valid choice" in bad.content.decode()
    csrf_post(client, f"/apps/{bobs_app.pk}/keys/{old.pk}/rotate/", {"grace_seconds": 0})
    again = csrf_post(client, f"/apps/{bobs_app.pk}/keys/{old.pk}/rotate/", {"grace_seconds": 0})
    assert "this key was already rotated" in again.content.decode()


def test_revoke_stops_the_key(web_client: Any, bob: Any, bobs_app: Any) -> None:
    key, full_key = create_api_key(bobs_app, actor=bob)
    client = web_client(bob)
    response = csrf_post(client, f"/apps/{bobs_app.pk}/keys/{key.pk}/revoke/")
    assert response.status_code == 302
    assert ApiKey.objects.for_key(full_key) is None
    page = client.get(response["Location"]).content.decode()
    assert "is revoked" in page and "badge revoked" in page


def test_an_oauth_client_shows_id_and_secret_once(web_client: Any, bob: Any, bobs_app: Any) -> None:
    client = web_client(bob)
    response = csrf_post(
        client, f"/apps/{bobs_app.pk}/clients/new/", {"grant_type": "client-credentials"}
    )
    page = response.content.decode()
    client_id = re.search(r'<code id="client-id">([^<]+)</code>', page).group(1)  # type: ignore[union-attr]
    secret = re.search(r'<code id="client-secret">([^<]+)</code>', page).group(1)  # type: ignore[union-attr]
    dot = get_application_model().objects.get(client_id=client_id)
    assert dot.client_secret != secret  # hashed at rest
    assert OAuthClient.objects.get(application=bobs_app).client_id == dot.pk
    assert secret not in client.get(f"/apps/{bobs_app.pk}/").content.decode()


def test_authorization_code_without_redirect_uri_is_refused_on_the_field(
    web_client: Any, bob: Any, bobs_app: Any
) -> None:
    data = {"grant_type": "authorization-code", "redirect_uris": ""}
    response = csrf_post(web_client(bob), f"/apps/{bobs_app.pk}/clients/new/", data)
    assert response.status_code == 200
    assert "needs at least one redirect URI" in response.content.decode()
    assert not OAuthClient.objects.exists()


def test_deleting_a_client(web_client: Any, bob: Any, bobs_app: Any) -> None:
    from apis.services.oauth_clients import create_oauth_client

    oauth_client, _ = create_oauth_client(bobs_app, actor=bob)
    csrf_post(web_client(bob), f"/apps/{bobs_app.pk}/clients/{oauth_client.pk}/delete/")
    assert not OAuthClient.objects.exists()
