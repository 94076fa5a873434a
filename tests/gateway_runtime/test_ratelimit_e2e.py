"""Rate limiting through real gateway processes: 2 workers sharing the port, the real test
Redis, a real upstream, key-authenticated clients over real sockets."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
import redis as redis_lib

from tests.gateway_runtime import snapshots as snap
from tests.gateway_runtime.conftest import GatewayProcess, Load, http_get, wait_until
from tests.gateway_runtime.upstreams import Upstream

KEY = snap.raw_key("ratelim1", "load-secret")
RPS = 100


def limited_document(port: int, plan: dict[str, object]) -> dict[str, object]:
    api = snap.api(1, "/svc/v1", [snap.route(1, "GET", "/echo")], upstream="svc", plans=[1])
    return snap.snapshot(
        [api],
        upstreams={"svc": snap.upstream([port])},
        plans={"1": plan},
        applications={"10": {"name": "load", "subscriptions": {"1": 1}}},
        keys={"ratelim1": snap.key_entry(KEY, 10)},
    )


def answered_per_worker(gateway: GatewayProcess) -> list[int]:
    """Requests each worker answered, from the gateway's /metrics (series labelled worker=)."""
    from prometheus_client.parser import text_string_to_metric_families

    _status, _headers, body = http_get(gateway.admin_url + "/metrics")
    totals: dict[str, int] = {}
    for family in text_string_to_metric_families(body.decode()):
        if family.name == "meshgate_requests":
            for s in family.samples:
                worker = s.labels.get("worker", "?")
                totals[worker] = totals.get(worker, 0) + int(s.value)
    return [totals[w] for w in sorted(totals)]


def statuses(load: Load) -> dict[int, int]:
    return dict(load.result.statuses)  # one C-level copy: atomic under the GIL


def rate_limit_headers(url: str) -> dict[int, dict[str, str]]:
    """Headers of one 200 and one 429 answer, from quick sequential requests."""
    seen: dict[int, dict[str, str]] = {}
    for _ in range(2000):
        status, headers, _body = http_get(url, headers={"X-API-Key": KEY})
        seen.setdefault(status, headers)
        if 200 in seen and 429 in seen:
            break
    return seen


@pytest.mark.slow
def test_two_gateway_workers_hold_the_rate_limit_within_five_percent(
    redis_url: str, redis_client: redis_lib.Redis, start_gateway: Callable[..., GatewayProcess]
) -> None:
    with Upstream() as upstream:
        snap.publish(redis_client, limited_document(upstream.port, snap.plan(rps=RPS)))
        gateway = start_gateway(redis=redis_url, workers=2)
        wait_until(
            lambda: redis_client.hlen("meshgate:gateways") >= 2, 10, message="2 workers reporting"
        )
        headers = {"X-API-Key": KEY}
        # 16 connections: SO_REUSEPORT hashes each to a worker; all on one has odds 2^-15.
        with Load(gateway.port, "/svc/v1/echo", threads=16, headers=headers) as load:
            time.sleep(1.5)  # measuring for real: first spend the initial bucket
            before = statuses(load)
            time.sleep(10.0)
            after = statuses(load)
        per_worker = answered_per_worker(gateway)
        answered = statuses(load)
        seen = rate_limit_headers(gateway.url + "/svc/v1/echo")
        log = gateway.log()
    allowed = after.get(200, 0) - before.get(200, 0)
    refused = after.get(429, 0) - before.get(429, 0)
    print(
        f"e2e rate limit: {allowed} allowed, {refused} refused in 10 s at {RPS} rps: "
        f"{allowed / (RPS * 10) - 1:+.2%}"
    )
    assert set(answered) <= {200, 429}, answered  # no errors, nothing else
    assert len(per_worker) == 2 and min(per_worker) > 0  # both workers took part
    assert sum(per_worker) == sum(answered.values())
    assert refused > allowed  # the limit was really under pressure
    warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
    assert allowed == pytest.approx(RPS * 10, rel=0.05), warnings[-10:]
    assert int(seen[429]["Retry-After"]) >= 1
    for status in (200, 429):
        assert seen[status]["RateLimit-Limit"] == str(RPS)
        assert int(seen[status]["RateLimit-Remaining"]) >= 0
        assert int(seen[status]["RateLimit-Reset"]) >= 1


def test_when_redis_dies_each_plan_keeps_its_choice_and_recovers(
    private_redis: Any, start_gateway: Callable[..., GatewayProcess]
) -> None:

    private_redis.start()
    client = private_redis.client()
    strict_key = snap.raw_key("strict01", "s")
    api = snap.api(1, "/svc/v1", [snap.route(1, "GET", "/echo")], upstream="svc", plans=[1, 2])
    with Upstream() as upstream:
        document = snap.snapshot(
            [api],
            upstreams={"svc": snap.upstream([upstream.port])},
            plans={
                "1": snap.plan(rps=1000),
                "2": snap.plan("strict", rps=1000, redis_down="fail_closed"),
            },
            applications={
                "10": {"name": "local", "subscriptions": {"1": 1}},
                "20": {"name": "strict", "subscriptions": {"1": 2}},
            },
            keys={"ratelim1": snap.key_entry(KEY, 10), "strict01": snap.key_entry(strict_key, 20)},
        )
        snap.publish(client, document)
        gateway = start_gateway(redis=private_redis.url, workers=1)
        url = gateway.url + "/svc/v1/echo"

        def get(key: str) -> tuple[int, dict[str, str]]:
            status, headers, _body = http_get(url, headers={"X-API-Key": key})
            return status, headers

        assert get(KEY)[0] == 200 and get(strict_key)[0] == 200
        wait_until(
            lambda: gateway.status()["background"]["ratelimit_keys_settled"] == 2,
            5,
            0.05,
            "each new key settled once (/status)",
        )
        private_redis.stop()
        wait_until(lambda: get(strict_key)[0] == 503, 5, 0.05, "fail_closed refusing")
        status, headers = get(strict_key)
        assert status == 503 and headers["Retry-After"] == "1"
        assert all(get(KEY)[0] == 200 for _ in range(20))  # "local": still served
        private_redis.start()
        wait_until(lambda: get(strict_key)[0] == 200, 15, 0.1, "fail_closed plan serving again")
    client.close()
