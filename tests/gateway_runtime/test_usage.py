"""Usage aggregates written to the real test Redis exactly as contracts.md §4 says."""

from __future__ import annotations

import asyncio
import calendar
import time
from typing import Any

import pytest
import redis as redis_lib
import redis.asyncio as aioredis

from gateway_runtime.usage import Usage
from portal.local_redis import free_port
from tests.gateway_runtime.policy_fixtures import Clock

T0 = float(calendar.timegm((2026, 11, 29, 10, 15, 0)))  # 2026-11-29 10:15:00 UTC


def flush(url: str, usage: Usage, *, force: bool = False) -> int:
    async def main() -> int:
        client = aioredis.Redis.from_url(url, socket_connect_timeout=0.2)
        try:
            return await usage.flush(client, "mg", force=force)
        finally:
            await client.aclose()

    return asyncio.run(main())


def decoded(raw: dict[bytes, bytes]) -> dict[str, int]:
    return {k.decode(): int(v) for k, v in raw.items()}


def test_requests_latency_days_keys_and_minutes_are_flushed(
    redis_url: str, redis_client: redis_lib.Redis
) -> None:
    clock = Clock(T0 + 10.0)
    usage = Usage(clock=clock)
    usage.record(3, 31, 7, 200, 0.004, "abc123")
    usage.record(3, 31, 7, 200, 0.030, "abc123")
    usage.record(3, 32, 0, 404, 0.0001, None)
    assert flush(redis_url, usage) == 0  # not yet: every 5 s
    clock.advance(5.0)
    assert flush(redis_url, usage) > 0

    minute = decoded(redis_client.hgetall("mg:usage:m:202611291015"))  # type: ignore[arg-type]
    assert minute == {
        "r|3|31|7|200": 2,
        "r|3|32|0|404": 1,
        "l|3|5": 2,
        "l|3|50": 1,  # 0.0001 s and 4 ms fit "5"; 30 ms fits "50" (counted once, not cumulative)
    }
    assert decoded(redis_client.hgetall("mg:usage:d:20261129")) == {"7|3|200": 2, "0|3|404": 1}  # type: ignore[arg-type]
    assert float(redis_client.hget("mg:usage:keys", "abc123")) == T0 + 10.0  # type: ignore[arg-type]
    assert redis_client.zrange("mg:usage:minutes", 0, -1, withscores=True) == [
        (b"202611291015", T0)
    ]
    assert 7 * 86400 < redis_client.ttl("mg:usage:m:202611291015") <= 8 * 86400
    assert 399 * 86400 < redis_client.ttl("mg:usage:d:20261129") <= 400 * 86400


def test_counts_add_up_across_flushes_and_minutes(
    redis_url: str, redis_client: redis_lib.Redis
) -> None:
    clock = Clock(T0 + 50.0)
    usage = Usage(clock=clock)
    usage.record(1, 1, 2, 200, 20.0, None)  # slower than 10 s: "inf"
    clock.advance(15.0)  # 10:16:05
    usage.tick()
    usage.record(1, 1, 2, 200, 0.2, None)
    flush(redis_url, usage, force=True)
    usage.record(1, 1, 2, 200, 0.2, None)
    flush(redis_url, usage, force=True)
    assert decoded(redis_client.hgetall("mg:usage:m:202611291015")) == {
        "r|1|1|2|200": 1,
        "l|1|inf": 1,
    }  # type: ignore[arg-type]
    assert decoded(redis_client.hgetall("mg:usage:m:202611291016")) == {
        "r|1|1|2|200": 2,
        "l|1|250": 2,
    }  # type: ignore[arg-type]
    assert decoded(redis_client.hgetall("mg:usage:d:20261129")) == {"2|1|200": 3}  # type: ignore[arg-type]
    assert [m for m, _ in redis_client.zrange("mg:usage:minutes", 0, -1, withscores=True)] == [
        b"202611291015",
        b"202611291016",
    ]


def test_counts_survive_a_redis_outage(redis_url: str, redis_client: redis_lib.Redis) -> None:
    clock = Clock(T0)
    usage = Usage(clock=clock)
    usage.record(1, 1, 2, 500, 0.01, "k1")
    assert flush(f"redis://127.0.0.1:{free_port()}/0", usage, force=True) == 0
    assert usage.last_error is not None and "usage flush failed" in usage.last_error
    usage.record(1, 1, 2, 500, 0.01, None)
    assert flush(redis_url, usage, force=True) > 0
    assert usage.last_error is None
    assert decoded(redis_client.hgetall("mg:usage:m:202611291015"))["r|1|1|2|500"] == 2  # type: ignore[arg-type]
    assert redis_client.hget("mg:usage:keys", "k1") is not None


def test_recording_is_cheap() -> None:
    import time

    usage = Usage()
    started = time.perf_counter()
    for i in range(100_000):
        usage.record(1, i % 40, i % 9, 200, 0.002, "prefix")
    assert (time.perf_counter() - started) / 100_000 < 5e-6


@pytest.mark.parametrize(
    "seconds,label", [(0.005, "5"), (0.0051, "10"), (10.0, "10000"), (10.01, "inf")]
)
def test_latency_buckets_are_upper_inclusive(
    seconds: float, label: str, redis_url: str, redis_client: redis_lib.Redis
) -> None:
    usage = Usage(clock=Clock(T0))
    usage.record(9, 1, 0, 200, seconds, None)
    flush(redis_url, usage, force=True)
    assert redis_client.hget("mg:usage:m:202611291015", f"l|9|{label}") == b"1"


def test_a_gateway_flushes_usage_of_real_requests(
    redis_url: str, redis_client: redis_lib.Redis, start_gateway: Any
) -> None:
    from tests.gateway_runtime import snapshots as snap
    from tests.gateway_runtime.conftest import http_get, wait_until
    from tests.gateway_runtime.upstreams import Upstream

    key = snap.raw_key("usagekey", "secret-1")
    with Upstream() as up:
        api = snap.api(7, "/svc/v1", [snap.route(70, "GET", "/echo")], plans=[1])
        document = snap.snapshot(
            [api],
            upstreams={"svc": snap.upstream([up.port])},
            applications={"10": {"name": "app", "subscriptions": {"7": 1}}},
            keys={"usagekey": snap.key_entry(key, 10)},
        )
        snap.publish(redis_client, document)
        gateway = start_gateway(redis=redis_url, workers=1)
        before = time.time()
        for _ in range(4):
            assert http_get(gateway.url + "/svc/v1/echo", headers={"X-API-Key": key})[0] == 200
        assert http_get(gateway.url + "/svc/v1/echo")[0] == 401

        def totals() -> dict[str, int]:
            out: dict[str, int] = {}
            for minute in redis_client.zrange("meshgate:usage:minutes", 0, -1):
                for f, n in redis_client.hgetall(f"meshgate:usage:m:{minute.decode()}").items():
                    out[f.decode()] = out.get(f.decode(), 0) + int(n)
            return out

        wait_until(lambda: totals().get("r|7|70|10|200") == 4, 10, 0.2, "usage in Redis")
    got = totals()
    assert got["r|7|70|0|401"] == 1
    assert sum(n for f, n in got.items() if f.startswith("l|7|")) == 5
    day = time.strftime("%Y%m%d", time.gmtime())
    assert int(redis_client.hget(f"meshgate:usage:d:{day}", "10|7|200") or 0) == 4
    assert float(redis_client.hget("meshgate:usage:keys", "usagekey")) >= before - 1  # type: ignore[arg-type]


def test_many_cells_and_a_merge_match_a_plain_dict_model(
    redis_url: str, redis_client: redis_lib.Redis
) -> None:
    """Past the cells table's growth, ids beyond 32 bits, and counts merged after an outage."""
    import bisect
    import random

    from gateway_runtime.usage import LATENCY_LE_MS, LE_LABELS

    rnd = random.Random(11)
    usage = Usage(clock=Clock(T0))
    want: dict[str, int] = {}
    for n in range(6000):
        if n == 3000:  # the first half is kept over a failed flush, then merged
            assert flush(f"redis://127.0.0.1:{free_port()}/0", usage, force=True) == 0
        version = rnd.choice([1, 2, 2**35])
        route, app = rnd.randrange(300) + 2**33, rnd.choice([0, 7, 2**31])
        status = rnd.choice([200, 404, 503])
        seconds = rnd.choice([rnd.expovariate(10.0), 0.005, 10.0, 10.01])
        usage.record(version, route, app, status, seconds, None)
        for f in (
            f"r|{version}|{route}|{app}|{status}",
            f"l|{version}|{LE_LABELS[bisect.bisect_left(LATENCY_LE_MS, seconds * 1000.0)]}",
        ):
            want[f] = want.get(f, 0) + 1
    assert flush(redis_url, usage, force=True) > len(want)  # and the daily fields
    assert decoded(redis_client.hgetall("mg:usage:m:202611291015")) == want  # type: ignore[arg-type]
