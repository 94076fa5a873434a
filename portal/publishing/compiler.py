"""Compile the catalogue, registry and consumers into one snapshot document.

Every section is one or two flat `.values_list()` queries and dict building in
Python: no model instances, no per-row queries. At 1,000 APIs / 10,000 routes /
100,000 keys the whole compile takes well under a second (bench/publish_bench.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from apis.choices import Lifecycle, SubscriptionStatus
from apis.models import (
    ApiKey,
    ApiVersion,
    OAuthClient,
    Plan,
    RevokedToken,
    Route,
    Subscription,
)
from gateway_runtime.contract.canonical import content_checksum
from gateway_runtime.contract.snapshot import (
    SCHEMA_VERSION,
    ApiEntry,
    ApplicationEntry,
    BalancerName,
    Consumers,
    InstanceEntry,
    KeyEntry,
    OAuthSection,
    PlanEntry,
    RouteEntry,
    Snapshot,
    UpstreamEntry,
)
from registry.choices import HashOn, LbAlgorithm
from registry.models import Instance, Service

# Drafts never reach the gateway; retired versions do, so it can answer 410.
LIVE_STATES = (Lifecycle.PUBLISHED, Lifecycle.DEPRECATED, Lifecycle.RETIRED)


def compile_snapshot(*, at: dt.datetime | None = None) -> Snapshot:
    """The snapshot of the database as it is now, stamped as revision 0 (not published)."""
    now = at or timezone.now()
    apis = _apis()
    document: Snapshot = {
        "schema_version": SCHEMA_VERSION,
        "revision": 0,
        "checksum": "",
        "created_at": iso_utc(now),
        "apis": list(apis.values()),
        "plans": _plans(),
        "upstreams": _upstreams(),
        "consumers": _consumers(now),
        "oauth": _oauth(now),
    }
    document["checksum"] = content_checksum(document)
    return document


def read_one_database_snapshot() -> None:
    """Make the compiler's queries see one moment of the database, not several.

    Call first thing in the transaction that compiles. PostgreSQL's default READ
    COMMITTED gives each query its own snapshot, so a version published between two
    queries could appear in `apis` without its routes, or a deleted plan be listed
    but missing from `plans`; REPEATABLE READ pins one snapshot for the transaction.
    SQLite transactions already read one snapshot. Nested in a caller's transaction
    (tests, or work that already queried) it cannot change the level and leaves it.
    """
    connection = transaction.get_connection()
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return
    import psycopg

    if connection.connection is None or (
        connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    ):
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def iso_utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(moment: dt.datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def _apis() -> dict[int, ApiEntry]:
    apis: dict[int, ApiEntry] = {}
    by_api: dict[int, list[ApiEntry]] = {}
    for row in _version_rows():
        apis[row[0]] = entry = _api_entry(row)
        by_api.setdefault(row[1], []).append(entry)
    plans = Plan.objects.filter(is_active=True, api_id__in=_live_api_ids()).order_by("id")
    for plan_id, api_id in plans.values_list("id", "api_id"):
        for entry in by_api[api_id]:
            entry["plans"].append(plan_id)
    for route in _route_rows():
        version = apis[route[1]]
        version["routes"].append(_route_entry(route, version))
    return apis


def _version_rows() -> list[tuple[Any, ...]]:
    return list(
        ApiVersion.objects.filter(state__in=LIVE_STATES)
        .order_by("id")
        .values_list(
            "id",
            "api_id",
            "api__slug",
            "label",
            "host",
            "base_path",
            "state",
            "sunset_at",
            "upstream_service__slug",
            "upstream_path",
            "auth_mode",
            "allow_key_in_query",
            "connect_timeout_ms",
            "read_timeout_ms",
            "total_timeout_ms",
            "retries",
            "retry_on",
            "retry_non_idempotent",
            "max_body_bytes",
        )
    )


def _api_entry(row: tuple[Any, ...]) -> ApiEntry:
    (
        version_id,
        _api_id,
        slug,
        label,
        host,
        base_path,
        state,
        sunset_at,
        upstream,
        upstream_path,
        auth_mode,
        in_query,
        connect_ms,
        read_ms,
        total_ms,
        retries,
        retry_on,
        non_idempotent,
        max_body,
    ) = row
    return {
        "id": version_id,
        "api": slug,
        "version": label,
        "host": host,
        "base_path": base_path,
        "state": state,
        "sunset_at": iso_utc(sunset_at) if sunset_at else None,
        "upstream": upstream,
        "upstream_path": upstream_path or "/",
        "auth_mode": auth_mode,
        "allow_key_in_query": in_query,
        "timeouts": {"connect_ms": connect_ms, "read_ms": read_ms, "total_ms": total_ms},
        "retry": {"retries": retries, "on": list(retry_on or []), "non_idempotent": non_idempotent},
        "max_body_bytes": max_body,
        "plans": [],
        "routes": [],
    }


def _live_api_ids() -> Any:
    return ApiVersion.objects.filter(state__in=LIVE_STATES).values("api_id")


def _route_rows() -> list[tuple[Any, ...]]:
    return list(
        Route.objects.filter(enabled=True, version__state__in=LIVE_STATES)
        .order_by("version_id", "path_template", "method")
        .values_list(
            "id",
            "version_id",
            "method",
            "path_template",
            "auth_mode",
            "scopes",
            "timeout_ms",
            "max_body_bytes",
        )
    )


def _route_entry(row: tuple[Any, ...], version: ApiEntry) -> RouteEntry:
    route_id, _version_id, method, path, auth_mode, scopes, timeout_ms, max_body = row
    return {
        "id": route_id,
        "method": method,
        "path": path,
        "auth_mode": auth_mode or version["auth_mode"],
        "scopes": list(scopes or []),
        # A route's timeout overrides the version's total budget for one request.
        "timeout_ms": timeout_ms or version["timeouts"]["total_ms"],
        "max_body_bytes": version["max_body_bytes"] if max_body is None else max_body,
    }


def _plans() -> dict[str, PlanEntry]:
    """Every plan of a live API, active or not: a subscription may still name a retired plan."""
    # Rows typed Any: the database holds only the choices the Literal types list.
    rows: Iterable[tuple[Any, ...]] = Plan.objects.filter(api_id__in=_live_api_ids()).values_list(
        "id",
        "name",
        "requests_per_second",
        "requests_per_minute",
        "quota_per_day",
        "quota_per_month",
        "burst",
        "redis_down_policy",
    )
    return {
        str(plan_id): {
            "name": name,
            "rps": rps,
            "rpm": rpm,
            "per_day": per_day,
            "per_month": per_month,
            "burst": burst,
            "redis_down": redis_down,
        }
        for plan_id, name, rps, rpm, per_day, per_month, burst, redis_down in rows
    }


# The registry's algorithm names -> the balancer names the gateway reads (balancer.py).
GATEWAY_BALANCERS: dict[str, BalancerName] = {
    LbAlgorithm.LEAST_REQUEST: "least_request",
    LbAlgorithm.ROUND_ROBIN: "round_robin",
    LbAlgorithm.CONSISTENT_HASH: "maglev",
}


def gateway_hash_on(algorithm: str, hash_on: str, hash_key: str) -> str | None:
    """The snapshot's `hash_on`: 'header:X-User', 'cookie:sid', 'ip', or None (no hashing)."""
    if algorithm != LbAlgorithm.CONSISTENT_HASH or hash_on == HashOn.NONE:
        return None
    return "ip" if hash_on == HashOn.IP else f"{hash_on}:{hash_key}"


def _upstreams() -> dict[str, UpstreamEntry]:
    services = Service.objects.values_list(
        "id", "slug", "name", "lb_algorithm", "hash_on", "hash_key", "max_in_flight"
    )
    upstreams: dict[str, UpstreamEntry] = {}
    by_id: dict[int, list[InstanceEntry]] = {}
    for service_id, slug, name, algorithm, hash_on, hash_key, max_in_flight in services:
        upstreams[slug] = {
            "id": service_id,
            "name": name,
            "instances": by_id.setdefault(service_id, []),
            "balancer": GATEWAY_BALANCERS[algorithm],
            "hash_on": gateway_hash_on(algorithm, hash_on, hash_key),
            "max_in_flight": max_in_flight,
        }
    for service_id, entry in _instance_rows():
        by_id[service_id].append(entry)
    return upstreams


def _instance_rows() -> list[tuple[int, InstanceEntry]]:
    rows: Iterable[tuple[Any, ...]] = Instance.objects.order_by(
        "service_id", "host", "port", "id"
    ).values_list(
        "id", "service_id", "host", "port", "scheme", "weight", "zone", "tags", "health", "draining"
    )
    return [
        (
            service_id,
            {
                "id": instance_id,
                "host": host,
                "port": port,
                "scheme": scheme,
                "weight": weight,
                "zone": zone,
                "tags": list(tags or []),
                "state": "draining" if draining else health,
            },
        )
        for (
            instance_id,
            service_id,
            host,
            port,
            scheme,
            weight,
            zone,
            tags,
            health,
            draining,
        ) in rows
    ]


def _consumers(now: dt.datetime) -> Consumers:
    return {"applications": _applications(), "keys": _keys(now), "oauth_clients": _oauth_clients()}


def _applications() -> dict[str, ApplicationEntry]:
    rows = Subscription.objects.filter(
        status=SubscriptionStatus.APPROVED, api_version__state__in=LIVE_STATES
    ).values_list("application_id", "application__name", "api_version_id", "plan_id")
    applications: dict[str, ApplicationEntry] = {}
    for app_id, name, version_id, plan_id in rows:
        entry = applications.setdefault(str(app_id), {"name": name, "subscriptions": {}})
        entry["subscriptions"][str(version_id)] = plan_id
    return applications


def _keys(now: dt.datetime) -> dict[str, KeyEntry]:
    # A rotated key inside its grace period is still usable; its expires_at tells
    # the gateway when to stop accepting it even before the next revision.
    rows = ApiKey.objects.usable(now).values_list(
        "prefix", "key_hash", "application_id", "expires_at"
    )
    return {
        prefix: {"sha256": key_hash, "app": app_id, "expires_at": _epoch(expires_at)}
        for prefix, key_hash, app_id, expires_at in rows
    }


def _oauth_clients() -> dict[str, int]:
    return dict(OAuthClient.objects.values_list("client__client_id", "application_id"))


def _oauth(now: dt.datetime) -> OAuthSection:
    # Imported here: the consumer side owns token signing and may load keys lazily.
    from apis.services import oauth_tokens

    revoked = (
        RevokedToken.objects.filter(expires_at__gt=now)
        .order_by("jti")
        .values_list("jti", "expires_at")
    )
    return {
        "issuer": oauth_tokens.issuer(),
        "audience": oauth_tokens.audience(),
        "jwks": oauth_tokens.public_jwks(),
        "revoked": [
            {"jti": jti, "exp": int(expires_at.timestamp())} for jti, expires_at in revoked
        ],
    }
