"""JWT access tokens issued by the real /o/token/ endpoint, verified with the published JWKS."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
import pytest
from django.test import Client
from oauth2_provider.models import AccessToken, RefreshToken

from apis.models import IssuedToken
from apis.services.oauth_clients import create_oauth_client
from apis.services.oauth_tokens import audience, decode_access_token, issuer, public_jwks
from tests.apis.consumer_fixtures import STOCK_SCOPE, basic_auth

pytest_plugins = ["tests.apis.consumer_fixtures"]
pytestmark = pytest.mark.django_db

CALLBACK = "https://shop.example.test/callback"


def request_token(client_id: str, secret: str, **params: str) -> Any:
    body = {"grant_type": "client_credentials", **params}
    return Client().post("/o/token/", body, HTTP_AUTHORIZATION=basic_auth(client_id, secret))


def verify_with_jwks(token: str) -> dict[str, Any]:
    """What a gateway does: pick the key by kid from the JWKS and check signature and claims."""
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(key for key in public_jwks()["keys"] if key["kid"] == kid)
    public_key = jwt.PyJWK(jwk).key
    return jwt.decode(token, public_key, algorithms=["EdDSA"], audience=audience(), issuer=issuer())


def test_client_credentials_token_is_a_jwt_the_gateway_can_verify(
    bob: Any, bobs_app: Any, catalogue: Any
) -> None:
    client, secret = create_oauth_client(bobs_app, actor=bob)
    client_id = client.client.client_id
    started = int(time.time())
    response = request_token(client_id, secret, scope=f"read {STOCK_SCOPE}")
    assert response.status_code == 200, response.content
    body = response.json()
    claims = verify_with_jwks(body["access_token"])
    assert claims["sub"] == claims["client_id"] == client_id
    assert claims["app"] == bobs_app.pk
    assert set(claims["scope"].split()) == {"read", STOCK_SCOPE}
    assert claims["exp"] - claims["iat"] == body["expires_in"] == 900
    assert started <= claims["iat"] <= int(time.time())
    assert jwt.get_unverified_header(body["access_token"])["typ"] == "at+jwt"
    assert "refresh_token" not in body  # client credentials get no refresh token


def test_dot_stores_only_a_digest_of_the_jwt(bob: Any, bobs_app: Any) -> None:
    client, secret = create_oauth_client(bobs_app, actor=bob)
    token = request_token(client.client.client_id, secret).json()["access_token"]
    row = AccessToken.objects.get()
    assert row.token == ""
    assert row.token_checksum == hashlib.sha256(token.encode()).hexdigest()
    assert IssuedToken.objects.get(access_token=row).jti == decode_access_token(token)["jti"]


def test_it_rejects_a_wrong_client_secret(bob: Any, bobs_app: Any) -> None:
    client, secret = create_oauth_client(bobs_app, actor=bob)
    response = request_token(client.client.client_id, secret[:-2] + "xx")
    assert response.status_code in (400, 401)
    assert response.json()["error"] == "invalid_client"
    assert not AccessToken.objects.exists()


def test_it_refuses_scopes_no_live_route_uses(bob: Any, bobs_app: Any, catalogue: Any) -> None:
    client, secret = create_oauth_client(bobs_app, actor=bob)
    response = request_token(client.client.client_id, secret, scope="admin:everything")
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_a_scope_of_a_draft_version_is_not_available(bob: Any, bobs_app: Any) -> None:
    # Without the `catalogue` fixture no version is live, so the route scope is unknown.
    client, secret = create_oauth_client(bobs_app, actor=bob)
    response = request_token(client.client.client_id, secret, scope=STOCK_SCOPE)
    assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_a_token_signed_by_another_key_does_not_verify(bob: Any, bobs_app: Any) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    client, secret = create_oauth_client(bobs_app, actor=bob)
    claims = decode_access_token(
        request_token(client.client.client_id, secret).json()["access_token"]
    )
    kid = public_jwks()["keys"][0]["kid"]
    forged = jwt.encode(
        claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid}
    )
    with pytest.raises(jwt.InvalidSignatureError):
        verify_with_jwks(forged)


def _pkce_pair() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(b"v" * 48).rstrip(b"=").decode()
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    return verifier, challenge


def _authorize(browser: Client, client_id: str, challenge: str | None) -> Any:
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "read",
        "state": "s1",
    }
    if challenge:
        params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return browser.post("/o/authorize/", {**params, "allow": "Authorize"})


def test_authorization_code_with_pkce_issues_a_user_token(bob: Any, bobs_app: Any) -> None:
    client, secret = create_oauth_client(
        bobs_app, actor=bob, grant_type="authorization-code", redirect_uris=CALLBACK
    )
    client_id = client.client.client_id
    browser = Client()
    browser.force_login(bob)
    verifier, challenge = _pkce_pair()
    consent = browser.get(
        "/o/authorize/?"
        + urlencode(
            {
                "client_id": client_id,
                "response_type": "code",
                "redirect_uri": CALLBACK,
                "scope": "read",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
    )
    assert consent.status_code == 200
    redirect = _authorize(browser, client_id, challenge)
    assert redirect.status_code == 302, redirect.content
    query = parse_qs(urlparse(redirect["Location"]).query)
    assert query["state"] == ["s1"]
    exchange = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "redirect_uri": CALLBACK,
        "client_id": client_id,
        "client_secret": secret,
    }
    assert Client().post("/o/token/", {**exchange, "code_verifier": "w" * 64}).status_code == 400
    response = Client().post("/o/token/", {**exchange, "code_verifier": verifier})
    assert response.status_code == 200, response.content
    body = response.json()
    claims = verify_with_jwks(body["access_token"])
    assert (
        claims["sub"] == str(bob.pk)
        and claims["client_id"] == client_id
        and claims["app"] == bobs_app.pk
    )
    # The refresh token stays opaque: only access tokens may be JWTs a gateway accepts.
    with pytest.raises(jwt.DecodeError):
        jwt.get_unverified_header(body["refresh_token"])
    assert RefreshToken.objects.get().token == ""


def test_authorization_code_without_pkce_is_refused(bob: Any, bobs_app: Any) -> None:
    client, _ = create_oauth_client(
        bobs_app, actor=bob, grant_type="authorization-code", redirect_uris=CALLBACK
    )
    browser = Client()
    browser.force_login(bob)
    response = _authorize(browser, client.client.client_id, challenge=None)
    location = response.get("Location", "")
    assert "code=" not in location
    assert response.status_code == 400 or "error=invalid_request" in location


def test_refreshing_revokes_the_previous_access_token(bob: Any, bobs_app: Any) -> None:
    from apis.models import RevokedToken

    client, secret = create_oauth_client(
        bobs_app, actor=bob, grant_type="authorization-code", redirect_uris=CALLBACK
    )
    client_id = client.client.client_id
    browser = Client()
    browser.force_login(bob)
    verifier, challenge = _pkce_pair()
    code = parse_qs(urlparse(_authorize(browser, client_id, challenge)["Location"]).query)["code"][
        0
    ]
    first = (
        Client()
        .post(
            "/o/token/",
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": CALLBACK,
                "client_id": client_id,
                "client_secret": secret,
                "code_verifier": verifier,
            },
        )
        .json()
    )
    refreshed = Client().post(
        "/o/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": client_id,
            "client_secret": secret,
        },
    )
    assert refreshed.status_code == 200, refreshed.content
    old_jti = decode_access_token(first["access_token"])["jti"]
    assert decode_access_token(refreshed.json()["access_token"])["jti"] != old_jti
    assert list(RevokedToken.objects.values_list("jti", flat=True)) == [old_jti]
