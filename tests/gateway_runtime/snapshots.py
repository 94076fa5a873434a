"""Build small, schema-valid snapshots for gateway tests, and publish them the way the portal does.

The publish helper writes exactly the keys of contracts.md / docs/snapshot.md (body, current,
checksum, history, then the channel message) so the gateway under test cannot tell it from
portal.publishing.store.write_revision.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import redis as redis_lib

from gateway_runtime.contract.canonical import content_checksum

PREFIX = "meshgate"


def raw_key(prefix: str, secret: str = "s3cret-value") -> str:  # noqa: S107 - test data
    """A full API key `mg_<prefix>_<secret>` (prefix: 8 base32 characters)."""
    return f"mg_{prefix}_{secret}"


def key_entry(raw: str, app: int, expires_at: int | None = None) -> dict[str, Any]:
    return {
        "sha256": hashlib.sha256(raw.encode()).hexdigest(),
        "app": app,
        "expires_at": expires_at,
    }


def route(
    route_id: int,
    method: str,
    path: str,
    *,
    auth_mode: str = "key",
    scopes: Sequence[str] = (),
    timeout_ms: int = 30000,
    max_body_bytes: int = 1 << 20,
) -> dict[str, Any]:
    return {
        "id": route_id,
        "method": method,
        "path": path,
        "auth_mode": auth_mode,
        "scopes": list(scopes),
        "timeout_ms": timeout_ms,
        "max_body_bytes": max_body_bytes,
    }


def api(
    version_id: int,
    base_path: str,
    routes: Iterable[dict[str, Any]],
    *,
    upstream: str | None = "svc",
    state: str = "published",
    host: str = "",
    auth_mode: str = "key",
    sunset_at: str | None = None,
    allow_key_in_query: bool = False,
    upstream_path: str = "/",
    plans: Sequence[int] = (1,),
    name: str = "svc-api",
    retry_on: Sequence[str] = ("connect-failure",),
) -> dict[str, Any]:
    return {
        "id": version_id,
        "api": name,
        "version": f"v{version_id}",
        "host": host,
        "base_path": base_path,
        "state": state,
        "sunset_at": sunset_at,
        "upstream": upstream,
        "upstream_path": upstream_path,
        "auth_mode": auth_mode,
        "allow_key_in_query": allow_key_in_query,
        "timeouts": {"connect_ms": 1000, "read_ms": 10000, "total_ms": 30000},
        "retry": {"retries": 1, "on": list(retry_on), "non_idempotent": False},
        "max_body_bytes": 1 << 20,
        "plans": list(plans),
        "routes": sorted(routes, key=lambda r: (r["path"], r["method"])),
    }


def plan(name: str = "gold", **limits: Any) -> dict[str, Any]:
    base = {
        "name": name,
        "rps": None,
        "rpm": None,
        "per_day": None,
        "per_month": None,
        "burst": None,
        "redis_down": "local",
    }
    base.update(limits)
    return base


def upstream(
    ports: Sequence[int],
    *,
    host: str = "127.0.0.1",
    first_id: int = 1,
    upstream_id: int = 1,
    name: str = "svc",
) -> dict[str, Any]:
    return {
        "id": upstream_id,
        "name": name,
        "instances": [
            {
                "id": first_id + i,
                "host": host,
                "port": port,
                "scheme": "http",
                "weight": 1,
                "zone": "",
                "tags": [],
                "state": "healthy",
            }
            for i, port in enumerate(ports)
        ],
    }


def snapshot(
    apis: Sequence[dict[str, Any]],
    *,
    upstreams: dict[str, dict[str, Any]] | None = None,
    plans: dict[str, dict[str, Any]] | None = None,
    applications: dict[str, dict[str, Any]] | None = None,
    keys: dict[str, dict[str, Any]] | None = None,
    oauth_clients: dict[str, int] | None = None,
    oauth: dict[str, Any] | None = None,
    revision: int = 1,
) -> dict[str, Any]:
    """A complete snapshot with a correct checksum (a deep copy: edit it freely)."""
    document: dict[str, Any] = {
        "schema_version": 1,
        "revision": revision,
        "created_at": "2026-11-29T09:00:00Z",
        "apis": sorted(apis, key=lambda a: a["id"]),
        "plans": plans if plans is not None else {"1": plan()},
        "upstreams": upstreams if upstreams is not None else {"svc": upstream([9])},
        "consumers": {
            "applications": applications or {},
            "keys": keys or {},
            "oauth_clients": oauth_clients or {},
        },
        "oauth": oauth
        or {
            "issuer": "http://portal.test",
            "audience": "meshgate",
            "jwks": {"keys": []},
            "revoked": [],
        },
    }
    return stamp(copy.deepcopy(document), revision)


def stamp(document: dict[str, Any], revision: int) -> dict[str, Any]:
    """Set revision and recompute the checksum (after editing a document)."""
    document = dict(document, revision=revision)
    document["checksum"] = content_checksum(document)
    return document


def encode(document: dict[str, Any]) -> bytes:
    return orjson.dumps(document)


def publish(
    client: redis_lib.Redis,
    document: dict[str, Any] | bytes,
    *,
    revision: int | None = None,
    prefix: str = PREFIX,
) -> int:
    """Write a revision the way the portal does and announce it on the channel."""
    if isinstance(document, bytes):
        body, parsed = document, orjson.loads(document)
    else:
        body, parsed = encode(document), document
    number = int(revision if revision is not None else parsed["revision"])
    checksum = str(parsed.get("checksum", ""))
    pipe = client.pipeline(transaction=True)
    pipe.set(f"{prefix}:config:rev:{number}", body)
    pipe.set(f"{prefix}:config:current", number)
    pipe.set(f"{prefix}:config:checksum", checksum)
    pipe.zadd(f"{prefix}:config:history", {str(number): number})
    pipe.publish(
        f"{prefix}:config:revisions", orjson.dumps({"revision": number, "checksum": checksum})
    )
    pipe.execute()
    return number


def token_service(
    port: int, revision: int, signer: Signer, *, extra_routes: Any = (), revoked: Any = ()
) -> dict[str, Any]:
    """One API at /svc/v1 on the upstream at `port`: a public /ping and an oauth2 /token route,
    application 10 with OAuth2 client "client-1", tokens signed by `signer`."""
    routes = [
        route(1, "GET", "/ping", auth_mode="public"),
        route(2, "GET", "/token", auth_mode="oauth2", scopes=["read"]),
        *extra_routes,
    ]
    return snapshot(
        [api(1, "/svc/v1", routes, auth_mode="oauth2")],
        upstreams={"svc": upstream([port])},
        applications={"10": {"name": "app", "subscriptions": {"1": 1}}},
        oauth_clients={"client-1": 10},
        oauth=signer.oauth_section(revoked),
        revision=revision,
    )


class Signer:
    """An Ed25519 key pair standing in for the portal's token signing key."""

    def __init__(self, kid: str = "test-key") -> None:
        import json

        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from jwt.algorithms import OKPAlgorithm

        self.kid = kid
        self.private_key = Ed25519PrivateKey.generate()
        public = json.loads(OKPAlgorithm.to_jwk(self.private_key.public_key()))
        self.jwk = {**public, "kid": kid, "use": "sig", "alg": "EdDSA"}

    def oauth_section(self, revoked: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
        return {
            "issuer": "http://portal.test",
            "audience": "meshgate",
            "jwks": {"keys": [self.jwk]},
            "revoked": list(revoked),
        }

    def token(
        self,
        *,
        client_id: str = "client-1",
        scope: str = "read",
        exp: float,
        jti: str = "jti-1",
        iss: str = "http://portal.test",
        aud: str = "meshgate",
        kid: str | None = None,
    ) -> str:
        import jwt

        claims = {
            "iss": iss,
            "aud": aud,
            "sub": client_id,
            "client_id": client_id,
            "scope": scope,
            "iat": int(exp) - 3600,
            "exp": int(exp),
            "jti": jti,
        }
        return jwt.encode(
            claims,
            self.private_key,
            algorithm="EdDSA",
            headers={"kid": kid or self.kid, "typ": "at+jwt"},
        )
