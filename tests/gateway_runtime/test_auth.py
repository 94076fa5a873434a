"""API keys and OAuth2 access tokens checked against the snapshot alone."""

from __future__ import annotations

import pytest

from gateway_runtime.auth import (
    ANONYMOUS,
    AuthError,
    Revocations,
    authenticate,
    authenticate_raw,
    strip_query_key,
)
from gateway_runtime.config.compile import compile_table
from gateway_runtime.config.table import Route, Table
from gateway_runtime.routing import RouteMatch
from tests.gateway_runtime import snapshots as snap

NOW = 1_800_000_000.0
KEY = snap.raw_key("abcdefgh", "the_secret_with_underscores")
OTHER_APP_KEY = snap.raw_key("zzzzzzzz")
EXPIRING_KEY = snap.raw_key("expiring")
SIGNER = snap.Signer()


def _table(*, auth_mode: str = "key", allow_query: bool = False, revoked=()) -> Table:
    api = snap.api(
        1,
        "/svc/v1",
        [
            snap.route(1, "GET", "/items", auth_mode=auth_mode, scopes=["read"]),
            snap.route(2, "GET", "/open", auth_mode="public"),
            snap.route(3, "POST", "/items", auth_mode=auth_mode, scopes=["read", "write"]),
        ],
        auth_mode=auth_mode,
        allow_key_in_query=allow_query,
    )
    document = snap.snapshot(
        [api],
        applications={
            "10": {"name": "app", "subscriptions": {"1": 1}},
            "20": {"name": "unsubscribed", "subscriptions": {}},
        },
        keys={
            "abcdefgh": snap.key_entry(KEY, 10),
            "zzzzzzzz": snap.key_entry(OTHER_APP_KEY, 20),
            "expiring": snap.key_entry(EXPIRING_KEY, 10, expires_at=int(NOW) + 60),
        },
        oauth_clients={"client-1": 10, "client-2": 20},
        oauth=SIGNER.oauth_section(revoked),
    )
    return compile_table(document, Revocations())


def _route(table: Table, route_id: int = 1) -> Route:
    return next(
        r
        for r in (
            table.routes.match("x", m, p).route
            for m, p in (
                ("GET", "/svc/v1/items"),
                ("GET", "/svc/v1/open"),
                ("POST", "/svc/v1/items"),
            )
        )
        if r.id == route_id
    )


def _match(table: Table, route_id: int) -> RouteMatch:
    path = "/svc/v1/open" if route_id == 2 else "/svc/v1/items"
    return table.routes.match("x", "POST" if route_id == 3 else "GET", path)


def _auth(table: Table, route_id: int = 1, *, key=None, authorization=None, query=None, now=NOW):
    return authenticate(table, _route(table, route_id), key, authorization, query, now)


def _refused(table: Table, **kwargs) -> AuthError:
    with pytest.raises(AuthError) as caught:
        _auth(table, **kwargs)
    return caught.value


# ------------------------------------------------------------------ API keys


def test_it_accepts_a_key_in_x_api_key():
    principal = _auth(_table(), key=KEY)
    assert (principal.app_id, principal.plan_id, principal.key_prefix) == (10, 1, "abcdefgh")


def test_it_accepts_a_key_in_authorization_apikey():
    assert _auth(_table(), authorization=f"ApiKey {KEY}").app_id == 10


def test_it_accepts_a_query_key_only_when_the_api_allows_it():
    query = f"a=1&api_key={KEY}"
    assert _auth(_table(allow_query=True), query=query).app_id == 10
    error = _refused(_table(allow_query=False), query=query)
    assert error.status == 401


def test_a_query_key_is_flagged_and_can_be_stripped_before_forwarding():
    principal = _auth(_table(allow_query=True), query=f"a=1&api_key={KEY}&b=2")
    assert principal.key_in_query is True
    assert _auth(_table(), key=KEY).key_in_query is False
    target = f"/svc/v1/items?a=1&api_key={KEY}&b=2".encode()
    assert strip_query_key(target) == b"/svc/v1/items?a=1&b=2"
    assert strip_query_key(f"/x?api_key={KEY}".encode()) == b"/x"
    assert strip_query_key(b"/x") == b"/x"


def test_it_rejects_a_missing_key_with_a_challenge():
    error = _refused(_table())
    assert error.status == 401 and error.slug == "unauthenticated"
    assert error.www_authenticate.startswith(b"ApiKey")


@pytest.mark.parametrize(
    "raw",
    [
        KEY[:-1] + "X",  # wrong secret, right prefix
        "mg_unknownp_secret",  # unknown prefix
        "not-a-key",
        "mg_short",
    ],
)
def test_it_rejects_unknown_or_wrong_keys(raw):
    error = _refused(_table(), key=raw)
    assert error.status == 401 and b"ApiKey" in error.www_authenticate


def test_it_rejects_a_key_at_its_expiry_second_before_the_next_revision():
    table = _table()
    assert _auth(table, key=EXPIRING_KEY, now=NOW + 59).app_id == 10
    assert _refused(table, key=EXPIRING_KEY, now=NOW + 60).status == 401


def test_a_verified_key_is_cached_but_its_expiry_and_wrong_secrets_still_apply():
    table = _table()
    assert _auth(table, key=EXPIRING_KEY, now=NOW).app_id == 10  # verified and cached
    assert _refused(table, key=EXPIRING_KEY, now=NOW + 60).status == 401
    assert _refused(table, key=EXPIRING_KEY[:-1] + "Z").status == 401
    assert _auth(table, key=KEY).app_id == 10
    next_revision = _table()  # a new table starts with an empty cache
    assert next_revision.keys._verified == {}


def test_a_repeat_key_on_a_version_is_answered_from_memory_with_its_expiry_still_checked():
    table = _table()
    first = _auth(table, key=EXPIRING_KEY, now=NOW)
    assert _auth(table, key=EXPIRING_KEY, now=NOW + 59) is first  # remembered per version
    assert _refused(table, key=EXPIRING_KEY, now=NOW + 60).status == 401
    assert _refused(table, key=OTHER_APP_KEY).status == 403  # a refusal is not remembered
    assert _refused(table, key=OTHER_APP_KEY).status == 403
    assert _table().keys.principals == {}, "each revision starts empty"


def test_a_query_key_never_flags_the_principal_that_header_keys_share():
    table = _table(allow_query=True)
    shared = _auth(table, key=KEY)
    assert _auth(table, query=f"api_key={KEY}").key_in_query is True
    assert shared.key_in_query is False and _auth(table, key=KEY).key_in_query is False


def test_it_forbids_a_key_whose_application_is_not_subscribed():
    error = _refused(_table(), key=OTHER_APP_KEY)
    assert error.status == 403 and error.slug == "forbidden"
    assert "subscription" in error.detail


def test_public_routes_need_nothing():
    assert _auth(_table(), 2) is ANONYMOUS


# ------------------------------------------------------------------ OAuth2


def _bearer(**claims) -> str:
    return "Bearer " + SIGNER.token(exp=NOW + 3600, **claims)


def test_it_accepts_a_valid_bearer_token():
    principal = _auth(_table(auth_mode="oauth2"), authorization=_bearer())
    assert (principal.app_id, principal.plan_id, principal.client_id) == (10, 1, "client-1")


def test_key_or_oauth2_accepts_either():
    table = _table(auth_mode="key_or_oauth2")
    assert _auth(table, key=KEY).app_id == 10
    assert _auth(table, authorization=_bearer()).app_id == 10
    error = _refused(table)
    assert error.www_authenticate == b'ApiKey realm="meshgate", Bearer realm="meshgate"'


def test_oauth2_route_refuses_an_api_key():
    error = _refused(_table(auth_mode="oauth2"), key=KEY)
    assert error.status == 401 and error.www_authenticate.startswith(b"Bearer")


def test_it_rejects_an_expired_token_by_the_injected_clock():
    table = _table(auth_mode="oauth2")
    token = "Bearer " + SIGNER.token(exp=NOW + 10)
    assert _auth(table, authorization=token, now=NOW + 9).app_id == 10  # cached now
    error = _refused(table, authorization=token, now=NOW + 10)
    assert error.status == 401 and b'error="invalid_token"' in error.www_authenticate
    assert "expired" in error.detail


@pytest.mark.parametrize(
    "claims, reason",
    [
        ({"aud": "someone-else"}, "audience"),
        ({"iss": "http://evil.test"}, "issuer"),
        ({"kid": "unknown"}, "unknown key"),
    ],
)
def test_it_rejects_tokens_not_meant_for_this_gateway(claims, reason):
    error = _refused(_table(auth_mode="oauth2"), authorization=_bearer(**claims))
    assert error.status == 401
    assert reason in error.detail.lower()


def test_it_rejects_a_token_signed_by_another_key():
    forged = snap.Signer(kid=SIGNER.kid).token(exp=NOW + 3600)
    error = _refused(_table(auth_mode="oauth2"), authorization="Bearer " + forged)
    assert error.status == 401 and "signature" in error.detail.lower()


def test_it_forbids_a_token_without_the_route_scopes():
    table = _table(auth_mode="oauth2")
    error = _refused(table, route_id=3, authorization=_bearer(scope="read"))
    assert error.status == 403
    assert b'error="insufficient_scope"' in error.www_authenticate
    assert b'scope="read write"' in error.www_authenticate
    assert _auth(table, 3, authorization=_bearer(scope="write read")).app_id == 10


def test_it_forbids_a_token_of_an_unsubscribed_client():
    error = _refused(_table(auth_mode="oauth2"), authorization=_bearer(client_id="client-2"))
    assert error.status == 403


def test_a_token_revoked_in_the_snapshot_is_refused():
    table = _table(auth_mode="oauth2", revoked=[{"jti": "jti-1", "exp": int(NOW) + 3600}])
    error = _refused(table, authorization=_bearer())
    assert error.status == 401 and "revoked" in error.detail


def test_a_revocation_from_the_channel_applies_even_to_a_cached_token():
    table = _table(auth_mode="oauth2")
    bearer = _bearer(jti="cached")
    assert _auth(table, authorization=bearer).app_id == 10
    table.jwt.revocations.revoke("cached", NOW + 3600)
    assert "revoked" in _refused(table, authorization=bearer).detail


def test_revocations_outlive_a_table_swap_and_are_pruned_after_expiry():
    revocations = Revocations()
    revocations.revoke("gone-soon", NOW + 5)
    revocations.merge([{"jti": "listed", "exp": NOW + 100}])
    assert "gone-soon" in revocations and "listed" in revocations
    revocations.prune(NOW + 6)
    assert "gone-soon" not in revocations and "listed" in revocations


# ------------------------------------------------------------------ raw request bytes


def _raw(table: Table, route_id: int = 1, *, query=None, now=NOW, **headers):
    raw_headers = {name.replace("_", "-").encode(): v.encode() for name, v in headers.items()}
    api_key, authorization = raw_headers.get(b"x-api-key"), raw_headers.get(b"authorization")
    return authenticate_raw(table, _match(table, route_id), api_key, authorization, query, now)


def _raw_refused(table: Table, **kwargs) -> AuthError:
    with pytest.raises(AuthError) as caught:
        _raw(table, **kwargs)
    return caught.value


def test_raw_headers_are_answered_like_decoded_ones():
    table = _table(allow_query=True)
    assert (_raw(table, x_api_key=KEY).app_id, _raw(table, x_api_key=KEY).plan_id) == (10, 1)
    assert _raw(table, authorization=f"ApiKey {KEY}").app_id == 10
    assert _raw(table, x_api_key="", authorization=f"ApiKey {KEY}").app_id == 10
    assert _raw(table, query=f"api_key={KEY}".encode()).key_in_query is True
    assert _raw(table, x_api_key=KEY).key_in_query is False
    assert _raw(table, 2) is ANONYMOUS
    assert _raw_refused(table).www_authenticate.startswith(b"ApiKey")
    assert _raw_refused(table, x_api_key=KEY[:-1] + "X").status == 401


def test_a_raw_key_is_remembered_per_version_with_expiry_and_refusals_as_before():
    table = _table()
    first = _raw(table, x_api_key=EXPIRING_KEY)
    assert _raw(table, x_api_key=EXPIRING_KEY, now=NOW + 59) is first
    assert _raw(table, 3, x_api_key=EXPIRING_KEY) is first  # same version, other route
    assert _raw_refused(table, x_api_key=EXPIRING_KEY, now=NOW + 60).status == 401
    assert _raw_refused(table, x_api_key=OTHER_APP_KEY).status == 403
    assert _raw_refused(table, x_api_key=OTHER_APP_KEY).status == 403
    assert OTHER_APP_KEY not in table.keys.principals, "a refusal is not remembered"
    assert _table().keys.principals == {}, "each revision starts empty"


def test_an_oauth2_route_ignores_a_raw_key_and_takes_the_bearer_token():
    table = _table(auth_mode="oauth2")
    assert _raw_refused(table, x_api_key=KEY).www_authenticate.startswith(b"Bearer")
    assert _raw(table, x_api_key=KEY, authorization=_bearer()).client_id == "client-1"
    assert table.keys.principals == {}


# ------------------------------------------------------------------ over real sockets


def test_auth_outcomes_through_a_running_gateway(start_gateway, ok_upstream, tmp_path):
    """The same rules end to end: a gateway process, a real upstream, HTTP on the wire."""
    import time as real_time

    from tests.gateway_runtime.conftest import http_get

    api = snap.api(
        1,
        "/svc/v1",
        [
            snap.route(1, "GET", "/items", scopes=["read"], auth_mode="key_or_oauth2"),
        ],
        auth_mode="key_or_oauth2",
        allow_key_in_query=True,
    )
    document = snap.snapshot(
        [api],
        upstreams={"svc": snap.upstream([ok_upstream])},
        applications={
            "10": {"name": "app", "subscriptions": {"1": 1}},
            "20": {"name": "other", "subscriptions": {}},
        },
        keys={"abcdefgh": snap.key_entry(KEY, 10), "zzzzzzzz": snap.key_entry(OTHER_APP_KEY, 20)},
        oauth_clients={"client-1": 10},
        oauth=SIGNER.oauth_section(),
    )
    path = tmp_path / "snapshot.json"
    path.write_bytes(snap.encode(document))
    gateway = start_gateway(config=path)
    url = gateway.url + "/svc/v1/items"
    token = SIGNER.token(exp=real_time.time() + 600)

    assert http_get(url, headers={"X-API-Key": KEY})[0] == 200
    assert http_get(url, headers={"Authorization": f"ApiKey {KEY}"})[0] == 200
    assert http_get(url, headers={"Authorization": f"Bearer {token}"})[0] == 200
    status, _, body = http_get(url + "?a=1&api_key=" + KEY)
    assert status == 200
    assert body == b"ok /items?a=1", "the upstream must not see the key"

    status, headers, body = http_get(url)
    assert status == 401
    assert headers["www-authenticate"] == 'ApiKey realm="meshgate", Bearer realm="meshgate"'
    assert headers["content-type"] == "application/problem+json"
    assert b'"type":"https://meshgate.dev/problems/unauthenticated"' in body

    status, _, body = http_get(url, headers={"X-API-Key": OTHER_APP_KEY})
    assert status == 403 and b"subscription" in body
    wrong = SIGNER.token(exp=real_time.time() + 600, scope="write", jti="j2")
    status, headers, _ = http_get(url, headers={"Authorization": f"Bearer {wrong}"})
    assert status == 403 and 'error="insufficient_scope"' in headers["www-authenticate"]


def test_a_token_minted_by_the_portal_is_accepted(tmp_path, monkeypatch):
    """Contract across the door: the portal's real token generator and JWKS, the gateway's
    verifier. Only the snapshot's oauth section travels between them."""
    import time as real_time
    from types import SimpleNamespace

    from django.test import override_settings

    from apis.oauth.signing import ENV_VARIABLE
    from apis.oauth.tokens import generate_access_token
    from apis.services.oauth_tokens import audience, issuer, public_jwks

    monkeypatch.delenv(ENV_VARIABLE, raising=False)
    oauth = {
        "ISSUER": "http://portal.test/o",
        "AUDIENCE": "meshgate-gateway",
        "SIGNING_KEY_FILE": str(tmp_path / "signing.pem"),
    }
    with override_settings(MESHGATE_OAUTH=oauth):
        client = SimpleNamespace(client_id="portal-client")
        request = SimpleNamespace(client=client, user=None, scopes=["read"], expires_in=300)
        token = generate_access_token(request)
        section = {"issuer": issuer(), "audience": audience(), "jwks": public_jwks(), "revoked": []}
    api = snap.api(
        1,
        "/svc/v1",
        [snap.route(1, "GET", "/items", auth_mode="oauth2", scopes=["read"])],
        auth_mode="oauth2",
    )
    document = snap.snapshot(
        [api],
        applications={"10": {"name": "app", "subscriptions": {"1": 1}}},
        oauth_clients={"portal-client": 10},
        oauth=section,
    )
    table = compile_table(document, Revocations())
    principal = _auth(table, authorization=f"Bearer {token}", now=real_time.time())
    assert (principal.app_id, principal.client_id) == (10, "portal-client")
