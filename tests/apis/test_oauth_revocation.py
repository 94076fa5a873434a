"""Revoking a JWT access token: a RevokedToken row and a message on a real Redis channel."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client, override_settings
from oauth2_provider.models import AccessToken

from apis.models import IssuedToken, RevokedToken
from apis.services.applications import delete_application
from apis.services.oauth_clients import create_oauth_client, delete_oauth_client
from apis.services.oauth_tokens import (
    decode_access_token,
    purge_expired_revocations,
    revoked_channel,
)
from tests.apis.consumer_fixtures import basic_auth

pytest_plugins = ["tests.apis.consumer_fixtures"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(bob: Any, bobs_app: Any) -> tuple[Any, str, str]:
    """(OAuthClient, client secret, access token) from the real token endpoint."""
    client, secret = create_oauth_client(bobs_app, actor=bob)
    response = Client().post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic_auth(client.client.client_id, secret),
    )
    return client, secret, response.json()["access_token"]


def _next_message(pubsub: Any) -> dict[str, Any] | None:
    for _ in range(20):
        message = pubsub.get_message(timeout=0.5)
        if message and message["type"] == "message":
            return json.loads(message["data"])
    return None


def test_revoke_endpoint_records_the_jti_and_announces_it(
    issued: tuple[Any, str, str], redis_client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client, secret, token = issued
    claims = decode_access_token(token)
    pubsub = redis_client.pubsub()
    pubsub.subscribe(revoked_channel())
    pubsub.get_message(timeout=1)  # the subscribe confirmation
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            "/o/revoke_token/",
            {"token": token, "token_type_hint": "access_token"},
            HTTP_AUTHORIZATION=basic_auth(client.client.client_id, secret),
        )
    assert response.status_code == 200
    assert not AccessToken.objects.exists() and not IssuedToken.objects.exists()
    revoked = RevokedToken.objects.get()
    assert revoked.jti == claims["jti"] and int(revoked.expires_at.timestamp()) == claims["exp"]
    assert _next_message(pubsub) == {"jti": claims["jti"], "exp": claims["exp"]}
    pubsub.close()


def test_deleting_the_client_revokes_its_tokens(
    issued: tuple[Any, str, str],
    bob: Any,
    redis_client: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client, _, token = issued
    pubsub = redis_client.pubsub()
    pubsub.subscribe(revoked_channel())
    pubsub.get_message(timeout=1)
    with django_capture_on_commit_callbacks(execute=True):
        delete_oauth_client(client, actor=bob)
    jti = decode_access_token(token)["jti"]
    assert list(RevokedToken.objects.values_list("jti", flat=True)) == [jti]
    assert _next_message(pubsub)["jti"] == jti
    pubsub.close()


def test_deleting_the_application_revokes_its_tokens(
    issued: tuple[Any, str, str], bob: Any, bobs_app: Any
) -> None:
    _, _, token = issued
    delete_application(bobs_app, actor=bob)
    assert RevokedToken.objects.get().jti == decode_access_token(token)["jti"]
    assert not AccessToken.objects.exists()


def test_a_redis_outage_does_not_break_revocation(
    issued: tuple[Any, str, str], caplog: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client, secret, token = issued
    down = override_settings(REDIS_URL="redis://127.0.0.1:1/0")
    with down, caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            "/o/revoke_token/",
            {"token": token},
            HTTP_AUTHORIZATION=basic_auth(client.client.client_id, secret),
        )
    assert response.status_code == 200
    assert RevokedToken.objects.get().jti == decode_access_token(token)["jti"]
    assert "could not announce a token revocation" in caplog.text
    assert token not in caplog.text and secret not in caplog.text


def test_expired_tokens_need_no_deny_list_entry(issued: tuple[Any, str, str]) -> None:
    import time_machine

    _, _, token = issued
    expired_at = decode_access_token(token)["exp"] + 1
    with time_machine.travel(expired_at, tick=False):
        AccessToken.objects.all().delete()  # what DOT's cleartokens does
        assert not RevokedToken.objects.exists()
        assert purge_expired_revocations() == 0


def test_purge_drops_only_expired_revocations(issued: tuple[Any, str, str]) -> None:
    import time_machine

    _, _, token = issued
    AccessToken.objects.get().revoke()
    exp = decode_access_token(token)["exp"]
    assert purge_expired_revocations() == 0
    with time_machine.travel(exp + 1, tick=False):
        assert purge_expired_revocations() == 1
    assert not RevokedToken.objects.exists()
