from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
import time_machine

from apis.models import ApiKey, Route
from gateway_runtime.contract.canonical import content_checksum
from gateway_runtime.contract.validate import validate_snapshot
from portal.publishing.compiler import compile_snapshot
from tests.contract.rows import FROZEN_AT, Rows, build_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(bob: Any, carol: Any) -> Rows:
    with time_machine.travel(FROZEN_AT, tick=False):
        return build_rows(bob, carol)


@pytest.fixture
def snapshot(rows: Rows) -> dict[str, Any]:
    with time_machine.travel(FROZEN_AT, tick=False):
        return dict(compile_snapshot())


def _version(snapshot: dict[str, Any], label: str) -> dict[str, Any] | None:
    return next((entry for entry in snapshot["apis"] if entry["version"] == label), None)


def test_it_leaves_drafts_out_and_keeps_retired_and_deprecated_with_their_state(
    snapshot: dict[str, Any],
) -> None:
    assert _version(snapshot, "v2") is None
    assert _version(snapshot, "v0")["state"] == "retired"
    deprecated = _version(snapshot, "v1beta")
    assert deprecated["state"] == "deprecated"
    assert deprecated["sunset_at"] == "2026-02-14T12:00:00Z"
    assert _version(snapshot, "v1")["sunset_at"] is None


def test_it_resolves_route_settings_from_the_version(snapshot: dict[str, Any], rows: Rows) -> None:
    routes = {(r["method"], r["path"]): r for r in _version(snapshot, "v1")["routes"]}
    assert set(routes) == {("GET", "/pets"), ("POST", "/pets")}  # the disabled route is absent
    assert routes["GET", "/pets"] | {"id": 0} == {
        "id": 0,
        "method": "GET",
        "path": "/pets",
        "auth_mode": "key",
        "scopes": ["read"],
        "timeout_ms": rows.v1.total_timeout_ms,
        "max_body_bytes": rows.v1.max_body_bytes,
    }
    assert (routes["POST", "/pets"]["auth_mode"], routes["POST", "/pets"]["timeout_ms"]) == (
        "public",
        1500,
    )
    assert routes["POST", "/pets"]["max_body_bytes"] == 1024


def test_it_lists_active_plans_per_api_and_every_plan_of_live_apis(
    snapshot: dict[str, Any], rows: Rows
) -> None:
    assert _version(snapshot, "v1")["plans"] == [rows.gold.id]
    assert {plan["name"] for plan in snapshot["plans"].values()} == {"Gold", "Legacy"}
    assert snapshot["plans"][str(rows.gold.id)] == {
        "name": "Gold",
        "rps": 10,
        "rpm": None,
        "per_day": 10000,
        "per_month": None,
        "burst": 20,
        "redis_down": "local",
    }


def test_it_publishes_only_usable_keys_and_keeps_grace_keys_with_their_expiry(
    snapshot: dict[str, Any],
) -> None:
    keys = snapshot["consumers"]["keys"]
    assert set(keys) == {
        "AAAA1111",
        "BBBB2222",
        "EEEE5555",
    }  # revoked CCCC and expired DDDD are gone
    assert keys["AAAA1111"]["expires_at"] is None
    assert keys["BBBB2222"]["expires_at"] == int((FROZEN_AT + dt.timedelta(hours=1)).timestamp())


def test_it_keeps_only_approved_subscriptions(snapshot: dict[str, Any], rows: Rows) -> None:
    applications = snapshot["consumers"]["applications"]
    assert applications == {
        str(rows.app.id): {"name": "Bob's app", "subscriptions": {str(rows.v1.id): rows.gold.id}}
    }
    assert snapshot["consumers"]["oauth_clients"] == {"client-abc": rows.app.id}


def test_it_shows_draining_over_health_and_lists_every_service(snapshot: dict[str, Any]) -> None:
    instances = snapshot["upstreams"]["pets"]["instances"]
    assert [(i["host"], i["state"], i["weight"]) for i in instances] == [
        ("10.0.0.1", "healthy", 100),
        ("10.0.0.2", "draining", 50),
    ]
    assert instances[0]["zone"] == "a" and instances[0]["tags"] == ["blue"]
    assert snapshot["upstreams"]["spare"]["instances"] == []


def test_it_publishes_each_services_balancing_in_the_gateways_vocabulary(
    snapshot: dict[str, Any],
) -> None:
    balancing = ("balancer", "hash_on", "max_in_flight")
    pets, spare = snapshot["upstreams"]["pets"], snapshot["upstreams"]["spare"]
    # The registry's consistent_hash on header X-User is the gateway's maglev on "header:X-User".
    assert [pets[name] for name in balancing] == ["maglev", "header:X-User", 100]
    assert [spare[name] for name in balancing] == ["least_request", None, None]


def test_it_publishes_only_unexpired_revoked_tokens(snapshot: dict[str, Any]) -> None:
    expected = int((FROZEN_AT + dt.timedelta(minutes=10)).timestamp())
    assert snapshot["oauth"]["revoked"] == [{"jti": "jti-live", "exp": expected}]
    assert snapshot["oauth"]["jwks"]["keys"]


def test_it_contains_no_secret(snapshot: dict[str, Any]) -> None:
    body = orjson.dumps(snapshot)
    assert b"not-published-secret-1" not in body
    assert b"secret" not in body.replace(b"client_secret", b"")
    assert all(b'"d"' not in orjson.dumps(key) for key in snapshot["oauth"]["jwks"]["keys"])


def test_it_is_valid_and_its_checksum_covers_the_content_only(snapshot: dict[str, Any]) -> None:
    assert validate_snapshot(snapshot) == []
    restamped = {**snapshot, "revision": 99, "created_at": "2030-01-01T00:00:00Z"}
    assert content_checksum(restamped) == snapshot["checksum"]


def test_its_checksum_changes_with_the_content(snapshot: dict[str, Any], rows: Rows) -> None:
    Route.objects.filter(version=rows.v1, method="GET", path_template="/pets").update(
        timeout_ms=999
    )
    with time_machine.travel(FROZEN_AT, tick=False):
        assert compile_snapshot()["checksum"] != snapshot["checksum"]


def test_it_reads_the_database_in_a_fixed_number_of_queries(
    rows: Rows, django_assert_max_num_queries: Any
) -> None:
    ApiKey.objects.bulk_create(
        ApiKey(application=rows.app, prefix=f"K{n:07d}", key_hash="0" * 64) for n in range(300)
    )
    with django_assert_max_num_queries(12):
        document = compile_snapshot()
    # Today is long after FROZEN_AT, so the grace key has expired: 300 + AAAA + EEEE.
    assert len(document["consumers"]["keys"]) == 302
