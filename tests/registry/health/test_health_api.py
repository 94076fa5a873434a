"""The operator health API: what it shows, who may use it, and that actions are audited."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import orjson
import pytest
import redis as redis_lib
from auditlog.models import LogEntry

from portal.redis import redis_key
from registry.health.runner import force_key
from registry.models import Ejection, HealthMinute, Instance

pytestmark = pytest.mark.django_db

READ_URLS = [
    "/api/v1/health/services/",
    "/api/v1/health/ejections/",
    "/api/v1/health/stale/",
    "/api/v1/gateways/",
]


@pytest.fixture
def pool(make_service, make_instance):  # type: ignore[no-untyped-def]
    service = make_service(
        slug="payments", name="Payments", check_interval_seconds=10, check_timeout_seconds=2
    )
    up = make_instance(service, 9001)
    down = make_instance(service, 9002)
    now = datetime.now(UTC)
    Instance.objects.filter(pk=up.pk).update(
        health="healthy",
        last_check_at=now,
        last_check_ok=True,
        last_check_ms=3.5,
        state_reason="2 consecutive successful checks",
    )
    Instance.objects.filter(pk=down.pk).update(
        health="unhealthy",
        last_check_at=now - timedelta(seconds=45),
        last_check_ok=False,
        last_check_reason="connect refused",
    )
    return service, up, down


@pytest.mark.parametrize("url", READ_URLS)
def test_developers_and_anonymous_users_are_refused(url, client_for, bob, client) -> None:  # type: ignore[no-untyped-def]
    assert client_for(bob).get(url).status_code == 403
    assert client.get(url).status_code == 403


def test_developers_cannot_drain_check_or_read_history(client_for, bob, pool) -> None:  # type: ignore[no-untyped-def]
    _service, up, _down = pool
    api = client_for(bob)
    for action in ("drain", "undrain", "check"):
        assert api.post(f"/api/v1/instances/{up.pk}/{action}/").status_code == 403
    assert api.get(f"/api/v1/instances/{up.pk}/history/").status_code == 403
    up.refresh_from_db()
    assert not up.draining


def test_operators_see_services_with_states_since_and_stale_flags(client_for, oscar, pool) -> None:  # type: ignore[no-untyped-def]
    _service, up, down = pool
    body = client_for(oscar).get("/api/v1/health/services/payments/").json()
    assert body["counts"] == {"healthy": 1, "unhealthy": 1, "unknown": 0, "draining": 0, "stale": 1}
    rows = {row["id"]: row for row in body["instances"]}
    assert rows[up.pk]["state"] == "healthy" and rows[up.pk]["stale"] is False
    assert rows[up.pk]["reason"] == "2 consecutive successful checks"
    assert rows[up.pk]["last_check_ms"] == 3.5
    assert rows[down.pk]["stale"] is True  # 45 s without a result at a 10 s interval
    assert rows[down.pk]["last_check_reason"] == "connect refused"
    assert rows[down.pk]["since"]


def test_the_stale_endpoint_lists_instances_the_checker_stopped_reaching(  # type: ignore[no-untyped-def]
    client_for, alice, pool, redis_client: redis_lib.Redis
) -> None:
    _service, _up, down = pool
    redis_client.hset(
        redis_key("health", "checkers"),
        "0",
        orjson.dumps({"shard": 0, "worker": "w1:7", "at": time.time() - 40, "planned": 3}),
    )
    body = client_for(alice).get("/api/v1/health/stale/").json()
    assert body["count"] == 1 and body["instances"][0]["id"] == down.pk
    assert body["instances"][0]["service"] == "payments"
    assert body["checkers"][0]["worker"] == "w1:7" and body["checkers"][0]["seconds_ago"] >= 40


def test_history_returns_per_minute_ratios_and_rejects_bad_input(client_for, oscar, pool) -> None:  # type: ignore[no-untyped-def]
    _service, up, _down = pool
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    HealthMinute.objects.create(
        instance=up, minute=minute, checks=6, successes=3, p50_ms=2.0, p95_ms=9.0, p99_ms=9.0
    )
    HealthMinute.objects.create(
        instance=up, minute=minute - timedelta(hours=3), checks=6, successes=6
    )
    api = client_for(oscar)
    body = api.get(f"/api/v1/instances/{up.pk}/history/?minutes=30").json()
    assert [row["success_ratio"] for row in body["minutes"]] == [0.5]
    assert body["minutes"][0]["p95_ms"] == 9.0
    assert len(api.get(f"/api/v1/instances/{up.pk}/history/?minutes=600").json()["minutes"]) == 2
    bad = api.get(f"/api/v1/instances/{up.pk}/history/?minutes=lots")
    assert bad.status_code == 400 and "minutes" in str(bad.json())
    assert api.get("/api/v1/instances/999999/history/").status_code == 404


def test_force_check_is_audited_and_queued(  # type: ignore[no-untyped-def]
    client_for, oscar, pool, redis_client: redis_lib.Redis, django_capture_on_commit_callbacks
) -> None:
    _service, up, _down = pool
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(oscar).post(f"/api/v1/instances/{up.pk}/check/")
    assert response.status_code == 202
    assert redis_client.zscore(force_key(0), str(up.pk)) is not None
    entry = LogEntry.objects.get(action=LogEntry.Action.ACCESS, object_pk=str(up.pk))
    assert entry.actor == oscar and entry.changes_dict == {"health_check": ["", "requested"]}


def test_drain_and_undrain_are_audited_and_reach_gateways(  # type: ignore[no-untyped-def]
    client_for, oscar, pool, redis_client: redis_lib.Redis, django_capture_on_commit_callbacks
) -> None:
    _service, up, _down = pool
    api = client_for(oscar)
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            api.post(f"/api/v1/instances/{up.pk}/drain/", {"reason": "deploy"}).status_code == 200
        )
    state = orjson.loads(redis_client.hget(redis_key("health", "states"), str(up.pk)))
    assert (state["state"], state["reason"], state["upstream"]) == (
        "draining",
        "deploy",
        "payments",
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/api/v1/instances/{up.pk}/undrain/").status_code == 200
    state = orjson.loads(redis_client.hget(redis_key("health", "states"), str(up.pk)))
    assert state["state"] == "healthy"
    drains = LogEntry.objects.filter(
        object_pk=str(up.pk), action=LogEntry.Action.UPDATE, actor=oscar
    )
    assert [e.changes_dict["draining"] for e in drains.order_by("timestamp")] == [
        ["False", "True"],
        ["True", "False"],
    ]


def test_ejections_show_current_reports_and_recorded_verdicts(  # type: ignore[no-untyped-def]
    client_for, oscar, pool, redis_client: redis_lib.Redis
) -> None:
    _service, up, _down = pool
    now = time.time()
    report = {
        "instance": up.pk,
        "upstream": "payments",
        "gateway": "gw1:8080/42",
        "reason": "5 consecutive connect errors",
        "ejected_at": now - 1,
        "until": now + 30,
        "count": 1,
    }
    expired = {**report, "gateway": "gw2:8080/7", "until": now - 5}
    redis_client.hset(
        redis_key("health", "ejections"),
        mapping={
            f"{up.pk}|gw1:8080/42": orjson.dumps(report),
            f"{up.pk}|gw2:8080/7": orjson.dumps(expired),
            "junk": b"not json",
        },
    )
    Ejection.objects.create(
        instance=up,
        gateway="gw1:8080/42",
        reason="old",
        ejected_at=datetime.now(UTC) - timedelta(hours=1),
        until=datetime.now(UTC),
        verdict="confirmed",
    )
    body = client_for(oscar).get("/api/v1/health/ejections/").json()
    assert [(e["gateway"], e["instance"]) for e in body["current"]] == [("gw1:8080/42", up.pk)]
    assert body["current"][0]["address"] == "http://127.0.0.1:9001"
    assert body["recent"][0]["verdict"] == "confirmed"


def test_gateways_show_the_revision_each_worker_serves(  # type: ignore[no-untyped-def]
    client_for, oscar, redis_client: redis_lib.Redis
) -> None:
    now = time.time()
    redis_client.set(redis_key("config", "current"), 42)
    base = {
        "gateway": "gw1:8080",
        "workers": 2,
        "listen": "127.0.0.1:8080",
        "checksum": "x",
        "applied_at": now,
        "started_at": now,
        "errors": 0,
        "version": "0.1.0",
    }
    redis_client.hset(
        redis_key("gateways"),
        mapping={
            "gw1:8080/10": orjson.dumps(
                {**base, "pid": 10, "worker": 0, "revision": 42, "heartbeat_at": now}
            ),
            "gw1:8080/11": orjson.dumps(
                {
                    **base,
                    "pid": 11,
                    "worker": 1,
                    "revision": 41,
                    "heartbeat_at": now,
                    "last_error": "revision 42 refused: x",
                }
            ),
            "gw2:8080/12": orjson.dumps(
                {**base, "gateway": "gw2:8080", "pid": 12, "revision": 42, "heartbeat_at": now - 60}
            ),
        },
    )
    body = client_for(oscar).get("/api/v1/gateways/").json()
    assert body["summary"] == {
        "current_revision": 42,
        "workers": 3,
        "fresh": 2,
        "on_current": 1,
        "stale": 1,
    }
    workers = {w["key"]: w for w in body["workers"]}
    assert workers["gw1:8080/11"]["last_error"] == "revision 42 refused: x"
    assert (
        workers["gw2:8080/12"]["fresh"] is False and workers["gw2:8080/12"]["on_current"] is False
    )
