"""Passive health: consecutive failures eject, ejection time grows, a small pool is never emptied,
and ejections are reported to the real test Redis per contracts §3."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import orjson
import pytest
import redis as redis_lib
import redis.asyncio as aioredis

from gateway_runtime.outlier import (
    EjectionReports,
    OutlierCounters,
    OutlierPolicy,
    ejection_seconds,
    max_ejected,
    record_outcome,
)
from gateway_runtime.runtime_state import RuntimeState
from tests.gateway_runtime.policy_fixtures import Clock, instance, table, upstream


def test_five_consecutive_connect_errors_call_for_ejection() -> None:
    c = OutlierCounters()
    policy = OutlierPolicy()
    assert [record_outcome(c, "connect-error", policy) for _ in range(4)] == [None] * 4
    assert record_outcome(c, "connect-error", policy) == "5 consecutive connect-errors"


def test_a_success_resets_the_count() -> None:
    c = OutlierCounters()
    policy = OutlierPolicy(consecutive_errors=3)
    record_outcome(c, 502, policy)
    record_outcome(c, 503, policy)
    record_outcome(c, 200, policy)
    assert record_outcome(c, 500, policy) is None
    record_outcome(c, 500, policy)
    assert record_outcome(c, 504, policy) == "3 consecutive 5xx responses (last 504)"


def test_outcomes_that_never_reached_the_instance_are_not_counted() -> None:
    c = OutlierCounters()
    for _ in range(20):
        assert record_outcome(c, "none", OutlierPolicy()) is None
    assert c.fails == 0


def test_ejection_time_doubles_with_jitter_and_is_capped() -> None:
    policy = OutlierPolicy(base_s=30, max_s=300, jitter=0.1)
    rng = random.Random(1)
    for k, base in [(1, 30), (2, 60), (3, 120), (4, 240), (5, 300), (9, 300)]:
        got = ejection_seconds(policy, k, rng)
        assert base <= got <= base * 1.1


@pytest.mark.parametrize(("pool", "allowed"), [(1, 0), (2, 1), (3, 1), (4, 2), (5, 2), (10, 5)])
def test_never_all_of_a_small_pool(pool: int, allowed: int) -> None:
    assert max_ejected(OutlierPolicy(max_percent=50), pool) == allowed


def test_even_a_zero_percent_policy_can_eject_one_of_two() -> None:
    assert max_ejected(OutlierPolicy(max_percent=0), 2) == 1


def failing(
    state: RuntimeState, slug: str, instance_id: int, outcome: int | str, times: int
) -> None:
    up = state.upstream(slug)
    assert up is not None
    inst = up.by_id[instance_id]
    for _ in range(times):
        inst.in_flight += 1
        up.in_flight += 1
        up.release(inst, outcome)


def test_a_pool_of_two_keeps_one_instance_when_both_fail() -> None:
    clock = Clock()
    state = RuntimeState("gw/1", clock)
    state.sync(table(upstream("svc", instance(1), instance(2))))
    failing(state, "svc", 1, "connect-error", 5)
    failing(state, "svc", 2, "connect-error", 5)
    up = state.upstream("svc")
    assert up is not None
    assert [bool(i.ejected_until) for i in up.instances] == [True, False]
    assert {up.acquire().id for _ in range(20)} == {2}


def test_an_ejection_expires_and_the_next_one_lasts_longer() -> None:
    clock = Clock()
    state = RuntimeState("gw/1", clock, policy=OutlierPolicy(jitter=0.0), slow_start_s=0)
    state.sync(table(upstream("svc", *(instance(i) for i in range(1, 5)))))
    up = state.upstream("svc")
    assert up is not None
    failing(state, "svc", 1, 503, 5)
    first = up.by_id[1].ejected_until - clock.now
    assert first == 30.0
    assert 1 not in {up.acquire().id for _ in range(200)}
    state.tick(clock.advance(30.0))
    assert not up.by_id[1].ejected_until
    assert 1 in {up.acquire().id for _ in range(200)}
    failing(state, "svc", 1, 503, 5)
    assert up.by_id[1].ejected_until - clock.now == 60.0


def test_the_multiplier_decays_while_the_instance_stays_good() -> None:
    clock = Clock()
    state = RuntimeState("gw/1", clock, policy=OutlierPolicy(jitter=0.0))
    state.sync(table(upstream("svc", *(instance(i) for i in range(1, 5)))))
    up = state.upstream("svc")
    assert up is not None
    failing(state, "svc", 1, 503, 5)
    state.tick(clock.advance(30.0))
    assert up.by_id[1].ejections == 1
    state.tick(clock.advance(31.0))
    assert up.by_id[1].ejections == 0


def test_ejections_are_reported_to_redis(redis_url: str, redis_client: redis_lib.Redis) -> None:
    clock = Clock()
    wall = Clock(1_764_400_000.0)
    state = RuntimeState("gw-a:8080/42", clock, policy=OutlierPolicy(jitter=0.0), wall=wall)
    state.sync(table(upstream("orders", instance(7), instance(8), instance(9))))
    pubsub = redis_client.pubsub()
    pubsub.subscribe("mg:health:ejections")
    assert pubsub.get_message(timeout=1)["type"] == "subscribe"  # type: ignore[index]

    failing(state, "orders", 7, "connect-error", 5)

    async def flush() -> int:
        client = aioredis.Redis.from_url(redis_url)
        try:
            return await state.flush(client, "mg")
        finally:
            await client.aclose()

    assert asyncio.run(flush()) == 1
    stored = orjson.loads(redis_client.hget("mg:health:ejections", "7|gw-a:8080/42"))  # type: ignore[arg-type]
    assert stored == {
        "instance": 7,
        "upstream": "orders",
        "gateway": "gw-a:8080/42",
        "reason": "5 consecutive connect-errors",
        "ejected_at": wall.now,
        "until": wall.now + 30.0,
        "count": 1,
    }
    message = pubsub.get_message(timeout=1)
    assert message is not None
    assert orjson.loads(message["data"]) == {**stored, "event": "ejected"}

    state.tick(clock.advance(31.0))
    assert asyncio.run(flush()) == 1
    assert redis_client.hget("mg:health:ejections", "7|gw-a:8080/42") is None
    restored = orjson.loads(pubsub.get_message(timeout=1)["data"])  # type: ignore[index]
    assert restored["event"] == "restored"
    assert restored["instance"] == 7
    pubsub.close()


def test_reports_are_kept_when_redis_is_unreachable(unused_port: int) -> None:
    reports = EjectionReports("gw/1")
    reports.ejected(1, "svc", "5 consecutive connect-errors", 30.0, 1)

    async def flush() -> int:
        client = aioredis.Redis.from_url(
            f"redis://127.0.0.1:{unused_port}/0", socket_connect_timeout=0.2
        )
        try:
            return await reports.flush(client, "mg")
        finally:
            await client.aclose()

    assert asyncio.run(flush()) == 0
    assert len(reports.pending) == 1
    assert reports.last_error is not None and "ejection report failed" in reports.last_error


@pytest.fixture
def unused_port() -> int:
    from portal.local_redis import free_port

    return free_port()


def test_an_abandoned_attempt_neither_counts_nor_resets() -> None:
    c = OutlierCounters()
    policy = OutlierPolicy(consecutive_errors=3)
    record_outcome(c, 503, policy)
    record_outcome(c, 503, policy)
    assert record_outcome(c, 499, policy) is None  # the client left / the pick was not used
    assert record_outcome(c, 503, policy) == "3 consecutive 5xx responses (last 503)"


# -- over real sockets: a gateway process, real upstreams, the real test Redis ------------------


def test_a_gateway_ejects_a_failing_instance_and_reports_it(
    redis_url: str, redis_client: redis_lib.Redis, start_gateway: Any
) -> None:
    from tests.gateway_runtime import snapshots as snap
    from tests.gateway_runtime.conftest import http_get, wait_until
    from tests.gateway_runtime.upstreams import Upstream

    with Upstream("a") as a, Upstream("b") as b, Upstream("bad", fail_status=503) as bad:
        ports = [a.port, b.port, bad.port]  # instance ids 1, 2, 3
        api = snap.api(
            1, "/svc/v1", [snap.route(1, "GET", "/echo", auth_mode="public")], auth_mode="public"
        )
        snap.publish(redis_client, snap.snapshot([api], upstreams={"svc": snap.upstream(ports)}))
        pubsub = redis_client.pubsub()
        pubsub.subscribe("meshgate:health:ejections")
        gateway = start_gateway(redis=redis_url, workers=1)
        url = gateway.url + "/svc/v1/echo"
        statuses = [http_get(url)[0] for _ in range(60)]
        assert statuses.count(503) == 5  # five in a row on "bad", then it is out
        assert bad.requests == 5
        assert all(http_get(url)[0] == 200 for _ in range(30))
        assert bad.requests == 5

        wait_until(
            lambda: redis_client.hlen("meshgate:health:ejections") == 1,
            5,
            message="the ejection report",
        )
        ((field, raw),) = redis_client.hgetall("meshgate:health:ejections").items()
        entry = orjson.loads(raw)
        assert field.decode().startswith("3|test-gw:")
        assert entry["instance"] == 3 and entry["upstream"] == "svc" and entry["count"] == 1
        assert entry["reason"] == "5 consecutive 5xx responses (last 503)"
        assert 30.0 <= entry["until"] - entry["ejected_at"] <= 33.0
        message = None
        for _ in range(50):
            message = pubsub.get_message(timeout=0.1)
            if message is not None and message["type"] == "message":
                break
        assert message is not None and orjson.loads(message["data"])["event"] == "ejected"
        rows = {row["id"]: row for row in gateway.status()["upstreams"]["svc"]["instances"]}
        assert rows[3]["ejected"] is True and rows[1]["ejected"] is False
        pubsub.close()
