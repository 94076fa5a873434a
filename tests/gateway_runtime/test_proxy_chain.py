"""The full chain through a real gateway process fed from real Redis: key auth, rate limit headers,
429 with Retry-After, forwarding, and usage reaching Redis (contracts §4) after a graceful stop."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis as redis_lib

from tests.gateway_runtime.rawhttp import RawClient
from tests.gateway_runtime.snapshots import (
    api,
    key_entry,
    plan,
    publish,
    raw_key,
    route,
    snapshot,
    upstream,
)
from tests.gateway_runtime.upstreams import Upstream


def test_a_keyed_request_passes_the_whole_chain_and_is_counted(
    start_gateway: Callable[..., Any], redis_url: str, redis_client: redis_lib.Redis
) -> None:
    with Upstream("chain") as up:
        doc = snapshot(
            [api(1, "/shop/v1", [route(1, "GET", "/orders/{id}")], plans=[1])],
            upstreams={"svc": upstream([up.port])},
            plans={"1": plan(rpm=5)},
            applications={"7": {"name": "app", "subscriptions": {"1": 1}}},
            keys={"ABCDEFGH": key_entry(raw_key("ABCDEFGH"), 7)},
        )
        publish(redis_client, doc)
        gw = start_gateway(redis=redis_url)
        with RawClient(gw.port) as c:
            answers = []
            for _ in range(8):
                answers.append(
                    c.request("GET", "/shop/v1/orders/42", {"X-API-Key": raw_key("ABCDEFGH")})
                )
                # leave the limiter's 50 ms Redis sync a turn: a new key starts on a small
                # provisional allowance until its first grant arrives (see ratelimit.py)
                time.sleep(0.15)
            denied_without_key = c.request("GET", "/shop/v1/orders/42")
        gw.stop()  # graceful: the last usage flush runs
    statuses = [a.status for a in answers]
    assert statuses == [200] * 5 + [429] * 3, statuses
    first = answers[0]
    assert first.json()["target"] == "/orders/42"
    assert first.json()["headers"]["x-api-key"] == raw_key("ABCDEFGH")
    assert first.headers["ratelimit-limit"] == "5"
    assert int(first.headers["ratelimit-remaining"]) == 4
    refused = answers[statuses.index(429)]
    assert refused.json()["type"] == "https://meshgate.dev/problems/rate-limited"
    assert int(refused.headers["retry-after"]) >= 1
    assert denied_without_key.status == 401
    minutes = redis_client.zrange("meshgate:usage:minutes", 0, -1)
    assert minutes, "no usage minute was flushed"
    counts: dict[bytes, int] = {}
    for minute in minutes:
        for field, value in redis_client.hgetall(b"meshgate:usage:m:" + minute).items():
            counts[field] = counts.get(field, 0) + int(value)
    assert counts.get(b"r|1|1|7|200") == 5
    assert counts.get(b"r|1|1|7|429", 0) >= 1
