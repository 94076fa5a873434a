"""A fixed set of catalogue, registry and consumer rows, and a normaliser for their snapshot.

The rows cover every case the compiler must get right: a consistent-hash service and
one with the default balancing, a draft (absent), a retired and a deprecated version
(present with state), a disabled route (absent), revoked and expired keys (absent), a
rotated key in its grace period (present with expires_at), a pending subscription
(absent), an expired revoked token (absent).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from oauth2_provider.models import Application as OAuthApplication

from apis.models import (
    Api,
    ApiKey,
    ApiVersion,
    Application,
    OAuthClient,
    Plan,
    RevokedToken,
    Route,
    Subscription,
)
from gateway_runtime.contract.canonical import content_checksum
from registry.models import Instance, Service

FROZEN_AT = dt.datetime(2026, 1, 15, 12, 0, 0, tzinfo=dt.UTC)


@dataclass
class Rows:
    service: Service
    v1: ApiVersion
    v2_draft: ApiVersion
    gold: Plan
    app: Application
    active_key: ApiKey
    grace_key: ApiKey


def key_hash(full_key: str) -> str:
    return hashlib.sha256(full_key.encode()).hexdigest()


def build_rows(owner: Any, other: Any) -> Rows:
    """Create the rows; call inside time_machine.travel(FROZEN_AT, tick=False)."""
    now = FROZEN_AT
    service = Service.objects.create(
        name="Pets service",
        slug="pets",
        lb_algorithm="consistent_hash",
        hash_on="header",
        hash_key="X-User",
        max_in_flight=100,
    )
    Instance.objects.create(
        service=service,
        host="10.0.0.1",
        port=8001,
        weight=100,
        zone="a",
        tags=["blue"],
        health="healthy",
    )
    Instance.objects.create(
        service=service, host="10.0.0.2", port=8001, weight=50, health="healthy", draining=True
    )
    Service.objects.create(name="Spare", slug="spare")
    api = Api.objects.create(name="Petstore", slug="petstore", owner=owner)
    v1 = _version(
        api, "v1", "/petstore/v1", "published", service, retry_on=["connect-failure", "503"]
    )
    v2 = _version(api, "v2", "/petstore/v2", "draft", service)
    _version(api, "v0", "/petstore/v0", "retired", service)
    _version(
        api,
        "v1beta",
        "/petstore/v1beta",
        "deprecated",
        service,
        sunset_at=now + dt.timedelta(days=30),
    )
    Route.objects.create(version=v1, method="GET", path_template="/pets", scopes=["read"])
    Route.objects.create(
        version=v1,
        method="POST",
        path_template="/pets",
        auth_mode="public",
        timeout_ms=1500,
        max_body_bytes=1024,
    )
    Route.objects.create(version=v1, method="GET", path_template="/pets/{id}", enabled=False)
    Route.objects.create(version=v2, method="GET", path_template="/pets")
    gold = Plan.objects.create(
        api=api, name="Gold", slug="gold", requests_per_second=10, burst=20, quota_per_day=10000
    )
    Plan.objects.create(
        api=api, name="Legacy", slug="legacy", is_active=False, redis_down_policy="fail_closed"
    )
    app = Application.objects.create(owner=owner, name="Bob's app")
    pending_app = Application.objects.create(owner=other, name="Carol's app")
    Subscription.objects.create(application=app, api_version=v1, plan=gold, status="approved")
    Subscription.objects.create(
        application=pending_app, api_version=v1, plan=gold, status="pending"
    )
    active = _key(app, "AAAA1111")
    grace = _key(app, "BBBB2222", expires_at=now + dt.timedelta(hours=1), replaced_by=active)
    _key(app, "CCCC3333", revoked_at=now - dt.timedelta(minutes=1))
    _key(app, "DDDD4444", expires_at=now - dt.timedelta(seconds=1))
    _key(pending_app, "EEEE5555")
    client = OAuthApplication.objects.create(
        name="bob-cc",
        client_id="client-abc",
        client_type="confidential",
        authorization_grant_type="client-credentials",
        client_secret="not-published-secret-1",  # noqa: S106 - a test value that must not leak
    )
    OAuthClient.objects.create(application=app, client=client)
    RevokedToken.objects.create(jti="jti-live", expires_at=now + dt.timedelta(minutes=10))
    RevokedToken.objects.create(jti="jti-gone", expires_at=now - dt.timedelta(minutes=10))
    return Rows(
        service=service, v1=v1, v2_draft=v2, gold=gold, app=app, active_key=active, grace_key=grace
    )


def _version(
    api: Api, label: str, base_path: str, state: str, service: Service, **extra: Any
) -> ApiVersion:
    return ApiVersion.objects.create(
        api=api, label=label, base_path=base_path, state=state, upstream_service=service, **extra
    )


def _key(app: Application, prefix: str, **extra: Any) -> ApiKey:
    return ApiKey.objects.create(
        application=app, prefix=prefix, key_hash=key_hash(f"mg_{prefix}_secret"), **extra
    )


def normalise(document: dict[str, Any], jwks: dict[str, Any]) -> dict[str, Any]:
    """Renumber database ids 1..n per kind (in id order) and put in a fixed JWKS.

    Ids depend on the database's sequences (PostgreSQL does not reset them between
    tests), the JWKS on the install's signing key; the structure must not.
    """
    ids = _renumbering(document)
    out = dict(document)
    out["apis"] = [_renumber_api(entry, ids) for entry in document["apis"]]
    out["plans"] = {str(ids["plan"][int(k)]): v for k, v in document["plans"].items()}
    out["upstreams"] = {
        slug: {
            **up,
            "id": ids["service"][up["id"]],
            "instances": [{**i, "id": ids["instance"][i["id"]]} for i in up["instances"]],
        }
        for slug, up in document["upstreams"].items()
    }
    out["consumers"] = _renumber_consumers(document["consumers"], ids)
    out["oauth"] = {**document["oauth"], "jwks": jwks}
    out["revision"] = 1
    out["checksum"] = content_checksum(out)
    return out


def _renumbering(document: dict[str, Any]) -> dict[str, dict[int, int]]:
    found: dict[str, set[int]] = {
        "version": set(),
        "route": set(),
        "plan": set(),
        "app": set(),
        "service": set(),
        "instance": set(),
    }
    for entry in document["apis"]:
        found["version"].add(entry["id"])
        found["route"].update(route["id"] for route in entry["routes"])
    found["plan"].update(int(plan_id) for plan_id in document["plans"])
    for upstream in document["upstreams"].values():
        found["service"].add(upstream["id"])
        found["instance"].update(instance["id"] for instance in upstream["instances"])
    consumers = document["consumers"]
    found["app"].update(int(app_id) for app_id in consumers["applications"])
    found["app"].update(key["app"] for key in consumers["keys"].values())
    found["app"].update(consumers["oauth_clients"].values())
    return {
        kind: {old: new for new, old in enumerate(sorted(values), start=1)}
        for kind, values in found.items()
    }


def _renumber_api(entry: dict[str, Any], ids: dict[str, dict[int, int]]) -> dict[str, Any]:
    return {
        **entry,
        "id": ids["version"][entry["id"]],
        "plans": [ids["plan"][p] for p in entry["plans"]],
        "routes": [{**route, "id": ids["route"][route["id"]]} for route in entry["routes"]],
    }


def _renumber_consumers(
    consumers: dict[str, Any], ids: dict[str, dict[int, int]]
) -> dict[str, Any]:
    apps = {
        str(ids["app"][int(app_id)]): {
            "name": app["name"],
            "subscriptions": {
                str(ids["version"][int(v)]): ids["plan"][p] for v, p in app["subscriptions"].items()
            },
        }
        for app_id, app in consumers["applications"].items()
    }
    keys = {
        prefix: {**key, "app": ids["app"][key["app"]]} for prefix, key in consumers["keys"].items()
    }
    clients = {
        client_id: ids["app"][app_id] for client_id, app_id in consumers["oauth_clients"].items()
    }
    return {"applications": apps, "keys": keys, "oauth_clients": clients}


FIXED_JWKS = {
    "keys": [
        {
            "kty": "OKP",
            "crv": "Ed25519",
            "kid": "fixture-key",
            "use": "sig",
            "alg": "EdDSA",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        }
    ]
}
