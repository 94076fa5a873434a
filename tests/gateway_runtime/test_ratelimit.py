"""Rate limiter against the real test Redis, time driven by an injected clock."""

from __future__ import annotations

import asyncio
import calendar
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis as redis_lib
import redis.asyncio as aioredis

from gateway_runtime.config.table import Plan
from gateway_runtime.ratelimit import UNLIMITED, Decision, RateLimiter
from portal.local_redis import free_port
from tests.gateway_runtime.policy_fixtures import Clock, plan

MIDNIGHT = float(calendar.timegm((2026, 11, 29, 0, 0, 0)))


def with_redis(url: str, body: Callable[[aioredis.Redis], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        client = aioredis.Redis.from_url(url, socket_connect_timeout=0.2)
        try:
            return await body(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


async def simulate(
    limiters: list[RateLimiter],
    clock: Clock,
    the_plan: Plan,
    redis: aioredis.Redis,
    seconds: float,
    per_ms: int = 1,
    app_id: int = 1,
) -> list[int]:
    """Each simulated ms every limiter sees `per_ms` requests; each syncs every 50 ms, staggered."""
    allowed = [0] * len(limiters)
    for ms in range(round(seconds * 1000)):
        clock.now += 0.001
        for i, limiter in enumerate(limiters):
            for _ in range(per_ms):
                allowed[i] += limiter.check(app_id, the_plan).allowed
            if ms % 50 == (i * 25) % 50:
                await limiter.sync(redis)
    return allowed


def test_a_plan_without_limits_is_unlimited_and_sends_no_headers() -> None:
    limiter = RateLimiter()
    assert limiter.check(1, plan()) is UNLIMITED
    assert UNLIMITED.allowed and UNLIMITED.header_bytes == b""


def test_headers_follow_the_ietf_draft_and_a_denial_carries_retry_after() -> None:
    ok = Decision(True, 100, 42, 1)
    assert (
        ok.header_bytes
        == b"RateLimit-Limit: 100\r\nRateLimit-Remaining: 42\r\nRateLimit-Reset: 1\r\n"
    )
    no = Decision(False, 100, 0, 17, status=429)
    assert no.retry_after == 17
    assert no.header_bytes == (
        b"RateLimit-Limit: 100\r\nRateLimit-Remaining: 0\r\nRateLimit-Reset: 17\r\n"
        b"Retry-After: 17\r\n"
    )


def test_a_new_key_gets_a_provisional_allowance_then_grants(
    redis_url: str, redis_client: redis_lib.Redis
) -> None:
    clock = Clock(MIDNIGHT)
    limiter = RateLimiter("mg", clock=clock)
    gold = plan(rps=100)  # provisional: a quarter second = 25

    async def body(redis: aioredis.Redis) -> None:
        assert [limiter.check(7, gold).allowed for _ in range(30)] == [True] * 25 + [False] * 5
        clock.advance(0.05)
        # The bucket starts full at the first sync (100); it charges the 25 used and grants
        # 1.5 x 30 + 25 = 70: 5 stay in Redis.
        await limiter.sync(redis)
        d = limiter.check(7, gold)
        assert d.allowed and d.limit == 100
        assert d.remaining == 5 + 70 - 1
        assert limiter.redis_ok

    with_redis(redis_url, body)
    assert float(redis_client.hget("mg:rl:7:1:s", "t")) == pytest.approx(5)  # type: ignore[arg-type]


def test_two_workers_share_an_rps_limit_within_five_percent(
    redis_url: str, redis_client: redis_lib.Redis
) -> None:
    clock = Clock(MIDNIGHT)
    workers = [RateLimiter("mg", clock=clock) for _ in range(2)]
    limited = plan(rps=200)

    async def body(redis: aioredis.Redis) -> tuple[list[int], list[int]]:
        # Demand 2 x 1,000/s = 10 x the limit. The first second also spends the full bucket (200).
        warm = await simulate(workers, clock, limited, redis, 1.0)
        return warm, await simulate(workers, clock, limited, redis, 10.0)

    warm, measured = with_redis(redis_url, body)
    assert sum(warm) == pytest.approx(400, rel=0.1)
    assert sum(measured) == pytest.approx(2000, rel=0.05)
    assert min(measured) > 0.3 * sum(measured)  # both workers get a fair part


def test_a_minute_quota_is_shared_and_resets_with_the_minute(
    redis_url: str,
    redis_client: redis_lib.Redis,
) -> None:
    clock = Clock(MIDNIGHT + 30.0)
    workers = [RateLimiter("mg", clock=clock) for _ in range(2)]
    quota = plan(rpm=600)

    async def body(redis: aioredis.Redis) -> tuple[list[int], list[int], Decision]:
        first = await simulate(workers, clock, quota, redis, 30.0)  # to the end of minute 0
        second = await simulate(workers, clock, quota, redis, 60.0)  # all of minute 1
        return first, second, workers[0].check(1, quota)

    first, second, last = with_redis(redis_url, body)
    assert sum(first) == pytest.approx(600, abs=3)
    assert sum(second) == pytest.approx(600, abs=3)
    assert not last.allowed and last.status == 429
    assert 1 <= last.retry_after <= 60
    assert b"RateLimit-Limit: 600\r\n" in last.header_bytes


def test_a_daily_quota_counts_per_utc_day(redis_url: str, redis_client: redis_lib.Redis) -> None:
    clock = Clock(MIDNIGHT - 1.0)
    limiter = RateLimiter("mg", clock=clock)
    daily = plan(per_day=50)

    async def body(redis: aioredis.Redis) -> list[int]:
        before = await simulate([limiter], clock, daily, redis, 0.5, app_id=3)
        denied = limiter.check(3, daily)
        assert not denied.allowed and denied.retry_after == 1  # about a second to midnight
        after = await simulate([limiter], clock, daily, redis, 1.0, app_id=3)
        return before + after

    assert with_redis(redis_url, body) == [50, 50]
    assert int(redis_client.get("mg:rl:3:1:d:20261129")) == 50  # type: ignore[arg-type]


def test_the_most_restrictive_dimension_is_reported(
    redis_url: str, redis_client: redis_lib.Redis
) -> None:
    clock = Clock(MIDNIGHT + 10.0)
    limiter = RateLimiter("mg", clock=clock)
    both = plan(rps=1000, per_day=20)

    async def body(redis: aioredis.Redis) -> Decision:
        limiter.check(1, both)
        clock.advance(0.05)
        await limiter.sync(redis)
        return limiter.check(1, both)

    d = with_redis(redis_url, body)
    assert (d.limit, d.remaining) == (20, 18)
    assert (
        d.reset == 86400 - 10
    )  # seconds to the end of the UTC day (coarse clock of the last sync)


def test_same_limits_in_a_new_revision_keep_the_grant_and_new_limits_apply(
    redis_url: str, redis_client: redis_lib.Redis
) -> None:
    clock = Clock(MIDNIGHT)
    limiter = RateLimiter("mg", clock=clock)

    async def body(redis: aioredis.Redis) -> None:
        assert limiter.check(1, plan(rpm=100)).remaining == 99
        await limiter.sync(redis)
        assert limiter.check(1, plan(rpm=100)).remaining == 98  # equal Plan object from a new table
        d = limiter.check(1, plan(rpm=5))
        assert d.limit == 5
        await limiter.sync(redis)
        # The old grant went back: the counter holds the 3 requests plus the new key's grant.
        assert limiter.check(1, plan(rpm=5)).remaining <= 5

    with_redis(redis_url, body)


def test_when_redis_is_down_local_plans_enforce_a_per_worker_share() -> None:
    clock = Clock(MIDNIGHT)
    limiter = RateLimiter("mg", workers_per_gateway=2, clock=clock)
    local = plan(rps=100, redis_down="local")
    dead = f"redis://127.0.0.1:{free_port()}/0"

    async def body(redis: aioredis.Redis) -> list[int]:
        await simulate([limiter], clock, local, redis, 1.0)  # spends the local bucket (50)
        return await simulate([limiter], clock, local, redis, 4.0)

    allowed = with_redis(dead, body)
    assert not limiter.redis_ok
    assert limiter.last_error is not None and "rate-limit sync failed" in limiter.last_error
    assert allowed[0] == pytest.approx(4 * 50, rel=0.05)  # half the rate for each of 2 workers


def test_when_redis_is_down_fail_closed_plans_refuse_then_recover(
    redis_url: str, redis_client: redis_lib.Redis
) -> None:
    clock = Clock(MIDNIGHT)
    limiter = RateLimiter("mg", clock=clock)
    strict = plan(rps=100, redis_down="fail_closed")
    dead = f"redis://127.0.0.1:{free_port()}/0"

    async def down(redis: aioredis.Redis) -> Decision:
        limiter.check(1, strict)
        await limiter.sync(redis)
        return limiter.check(1, strict)

    refused = with_redis(dead, down)
    assert (refused.allowed, refused.status, refused.retry_after) == (False, 503, 1)
    assert refused.slug == "rate-limit-unavailable"

    async def back(redis: aioredis.Redis) -> Decision:
        clock.advance(0.05)
        await limiter.sync(redis)
        return limiter.check(1, strict)

    assert with_redis(redis_url, back).allowed
    assert limiter.redis_ok


def test_an_idle_key_returns_its_grant_and_is_forgotten(
    redis_url: str, redis_client: redis_lib.Redis
) -> None:
    clock = Clock(MIDNIGHT)
    limiter = RateLimiter("mg", clock=clock)
    quota = plan(per_day=1000)

    async def body(redis: aioredis.Redis) -> None:
        for _ in range(10):
            limiter.check(1, quota)
        await limiter.sync(redis)
        assert int(redis_client.get("mg:rl:1:1:d:20261129")) > 10  # type: ignore[arg-type]
        clock.advance(61.0)
        await limiter.sync(redis)

    with_redis(redis_url, body)
    assert int(redis_client.get("mg:rl:1:1:d:20261129")) == 10  # type: ignore[arg-type]
    assert limiter._keys == {}


def test_an_exhausted_quota_is_remembered_while_idle_and_renewed_with_the_window(
    redis_url: str, redis_client: redis_lib.Redis
) -> None:
    clock = Clock(MIDNIGHT - 100.0)
    limiter = RateLimiter("mg", clock=clock)
    quota = plan(per_day=30)

    async def body(redis: aioredis.Redis) -> None:
        assert sum(await simulate([limiter], clock, quota, redis, 1.0)) == 30
        clock.advance(70.0)  # idle past IDLE_FORGET_S, still before midnight
        await limiter.sync(redis)
        assert not limiter.check(1, quota).allowed  # not forgotten: no provisional re-admission
        clock.now = MIDNIGHT + 0.5  # the next UTC day
        await limiter.sync(redis)  # the key's window ended: it takes a fresh grant
        assert limiter.check(1, quota).allowed

    with_redis(redis_url, body)


def test_without_any_redis_every_plan_is_enforced_locally() -> None:
    clock = Clock(MIDNIGHT)
    limiter = RateLimiter("mg", clock=clock)
    strict = plan(rps=100, redis_down="fail_closed")

    async def body() -> list[int]:
        return await simulate([limiter], clock, strict, None, 3.0)  # type: ignore[arg-type]

    allowed = asyncio.run(body())
    assert limiter.redis_ok  # --config mode: nothing is down
    assert allowed[0] == pytest.approx(100 + 3 * 100, rel=0.05)  # the bucket plus 3 s of rate


def test_large_remainders_are_rounded_down_and_decisions_reused() -> None:
    limiter = RateLimiter("mg", clock=Clock(MIDNIGHT))
    high = plan(rps=100_000)
    first = limiter.check(1, high)
    assert first.remaining == 99_328  # 99,999 kept to 7 significant bits: at most 1.6 % low
    assert 99_999 * 0.984 < first.remaining <= 99_999
    again = limiter.check(1, high)
    assert again is first  # same numbers: no new object, no new header bytes
    small = plan(2, rps=10)  # small numbers stay exact
    assert [limiter.check(1, small).remaining for _ in range(3)] == [9, 8, 7]


def test_refusals_are_reused_while_nothing_changes() -> None:
    limiter = RateLimiter("mg", clock=Clock(MIDNIGHT))
    tiny = plan(rps=1)  # provisional 1
    assert limiter.check(1, tiny).allowed
    no1 = limiter.check(1, tiny)
    no2 = limiter.check(1, tiny)
    assert not no1.allowed and no1 is no2
    assert no1.header_bytes.endswith(b"Retry-After: 1\r\n")


def test_a_sync_settles_only_the_keys_used_since_the_last_one() -> None:
    clock = Clock(MIDNIGHT)
    limiter = RateLimiter("mg", clock=clock)
    limited = plan(rps=100)
    for app in range(1, 101):
        limiter.check(app, limited)

    async def sync() -> None:
        await limiter.sync(None)

    asyncio.run(sync())  # settles all 100 (each had demand)
    for _ in range(30):  # key 7 uses up its grant (1.5 x 1 + 25): it must settle
        limiter.check(7, limited)
    limiter.check(8, limited)  # key 8 still holds ample grant: it need not
    clock.advance(0.05)
    batch, _owners = limiter._collect(clock.now)
    assert [settle[2] for settle in batch] == ["mg:rl:7:1:s"]


def test_the_local_store_keeps_only_the_current_window_of_each_quota() -> None:
    from gateway_runtime.ratelimit_store import LocalStore

    store = LocalStore()
    for minute in (100, 101, 102):
        for app in (1, 2):
            key = f"mg:rl:{app}:1:m:{minute}"
            store.settle(0.0, [("w", key, key, 0, 0, 5, 10.0, 0.0, 60)])
    assert sorted(store.windows) == ["mg:rl:1:1:m:102", "mg:rl:2:1:m:102"]
    # The use of a grant from the previous window is charged there, not to the new one.
    result = store.settle(
        0.0, [("w", "mg:rl:1:1:m:102", "mg:rl:1:1:m:103", 5, 5, 3, 10.0, 0.0, 60)]
    )
    assert result == [(3, 7)]


def test_a_flushed_script_cache_is_reloaded(redis_url: str, redis_client: redis_lib.Redis) -> None:
    clock = Clock(MIDNIGHT)
    limiter = RateLimiter("mg", clock=clock)
    limited = plan(rps=10)

    async def body(redis: aioredis.Redis) -> None:
        limiter.check(1, limited)
        await limiter.sync(redis)
        redis_client.script_flush()  # e.g. a Redis restart or failover
        clock.advance(0.05)
        for _ in range(5):  # runs its grant (1.5 x 1 + 3) low: the key must settle
            limiter.check(1, limited)
        await limiter.sync(redis)

    with_redis(redis_url, body)
    assert limiter.redis_ok and limiter.syncs == 2
    assert float(redis_client.hget("mg:rl:1:1:s", "t")) < 10  # type: ignore[arg-type]


def test_one_sync_settles_hundreds_of_keys_in_one_call(
    redis_url: str, redis_client: redis_lib.Redis
) -> None:
    clock = Clock(MIDNIGHT + 30.0)
    limiter = RateLimiter("mg", clock=clock)
    both = plan(rps=50, rpm=1000)

    async def body(redis: aioredis.Redis) -> None:
        for app in range(1, 301):
            limiter.check(app, both)
        await limiter.sync(redis)

    with_redis(redis_url, body)
    assert limiter.redis_ok and limiter.syncs == 1
    assert len(redis_client.keys("mg:rl:*:1:s")) == 300
    minute = int((MIDNIGHT + 30.0) // 60)
    # Each key: 1 used + a grant of ceil(1.5 x 1) + 10 (the provisional: 1 % of 1,000) = 13.
    counts = redis_client.mget([f"mg:rl:{a}:1:m:{minute}" for a in range(1, 301)])
    assert {int(v) for v in counts} == {13}


def test_a_forgotten_or_replanned_key_is_looked_up_afresh() -> None:
    """check() finds keys through an index by plan and app: it must follow _open and forgetting."""
    clock = Clock(MIDNIGHT)
    limiter = RateLimiter("mg", clock=clock)
    limited = plan(rps=10)  # provisional 3: remaining 9, 8, ...
    other = plan(2, rps=10)
    assert [limiter.check(app, p).remaining for app, p in ((1, limited), (1, limited))] == [9, 8]
    assert limiter.check(1, other).remaining == 9  # same app, other plan: its own key
    assert limiter.check(2, limited).remaining == 9  # same plan, other app
    assert limiter.check(1, limited).remaining == 7

    async def sync() -> None:
        await limiter.sync(None)
        clock.advance(61.0)  # idle past IDLE_FORGET_S
        await limiter.sync(None)

    asyncio.run(sync())
    assert limiter._keys == {}
    fresh = limiter.check(1, limited)
    assert fresh.allowed and sorted(limiter._keys) == [(1, 1)]
    stricter = plan(rps=5)  # a new revision of plan 1 with other limits: a new state
    assert limiter.check(1, stricter).limit == 5
    assert limiter.check(1, limited).limit == 10


# -- which keys a sync settles (module docstring of ratelimit.py) ---------------------------------


def bucket_tokens(redis_client: redis_lib.Redis, app_id: int = 1) -> float:
    return float(redis_client.hget(f"mg:rl:{app_id}:1:s", "t"))  # type: ignore[arg-type]


async def each_interval(
    limiter: RateLimiter, clock: Clock, the_plan: Plan, redis: Any, intervals: int, per: int = 1
) -> None:
    """`per` requests of app 1, then a sync, `intervals` times (50 ms apart)."""
    for _ in range(intervals):
        for _ in range(per):
            limiter.check(1, the_plan)
        clock.advance(0.05)
        await limiter.sync(redis)


def test_a_key_whose_grant_covers_its_demand_is_not_settled_at_every_use(
    redis_url: str, redis_client: redis_lib.Redis
) -> None:
    clock = Clock(MIDNIGHT)
    limiter = RateLimiter("mg", clock=clock)
    high = plan(rps=1000)  # grant 1.5 x 1 + 250 (a quarter second of the rate)

    async def body(redis: aioredis.Redis) -> None:
        await each_interval(limiter, clock, high, redis, 1)
        assert limiter.settled == 1  # a new key settles at once: its provisional use is a debt
        tokens = bucket_tokens(redis_client)
        await each_interval(limiter, clock, high, redis, 20)  # 1 s, one request per interval
        assert limiter.settled == 1
        assert bucket_tokens(redis_client) == tokens  # Redis was not asked for this key

    with_redis(redis_url, body)


def test_a_key_whose_grant_runs_low_is_settled_at_the_next_sync(
    redis_url: str, redis_client: redis_lib.Redis
) -> None:
    clock = Clock(MIDNIGHT)
    limiter = RateLimiter("mg", clock=clock)
    high = plan(rps=1000)

    async def body(redis: aioredis.Redis) -> None:
        await each_interval(limiter, clock, high, redis, 1)  # holds 1.5 x 1 + 250 = 252
        await each_interval(limiter, clock, high, redis, 1, per=50)
        assert limiter.settled == 1  # 202 left: covers twice the 50 of this interval, plus one
        await each_interval(limiter, clock, high, redis, 1, per=100)
        assert limiter.settled == 2  # 102 left: less than twice the 100 of this interval
        d = limiter.check(1, high)
        assert d.allowed and d.remaining > 300  # a fresh grant of 1.5 x 100 + 250

    with_redis(redis_url, body)


def test_a_used_key_settles_after_the_maximum_age_longer_while_the_store_has_plenty(
    redis_url: str, redis_client: redis_lib.Redis
) -> None:
    from gateway_runtime.ratelimit import MAX_AGE_LOOSE_S, MAX_AGE_S

    clock = Clock(MIDNIGHT)
    tight_limiter = RateLimiter("mg", clock=clock)
    loose_limiter = RateLimiter("mg", clock=clock)
    limited = plan(rps=1000)  # grant 1.5 x 1 + 250: lasts 12 s at one request per interval
    # Another gateway has already taken most of app 1's bucket: after this worker's grant the
    # store has less than half of it left, so its grant must not stay out long.
    redis_client.hset("mg:rl:1:1:s", mapping={"t": "400", "ts": repr(MIDNIGHT + 0.05)})

    async def run(limiter: RateLimiter, redis: aioredis.Redis, app_id: int) -> list[float]:
        settled_at = []
        for _ in range(round(6.0 / 0.05)):
            limiter.check(app_id, limited)
            clock.advance(0.05)
            before = limiter.settled
            await limiter.sync(redis)
            if limiter.settled > before:
                settled_at.append(clock.now)
        return settled_at

    async def body(redis: aioredis.Redis) -> tuple[list[float], list[float]]:
        start = clock.now
        tight = [t - start for t in await run(tight_limiter, redis, 1)]
        start = clock.now
        loose = [t - start for t in await run(loose_limiter, redis, 2)]  # a full bucket
        return tight, loose

    tight, loose = with_redis(redis_url, body)
    # The first settle (a new key), then one per maximum age (+ up to one interval).
    assert tight[0] == pytest.approx(0.05)
    assert MAX_AGE_S <= tight[1] - tight[0] <= MAX_AGE_S + 0.051
    assert loose[0] == pytest.approx(0.05)
    assert MAX_AGE_LOOSE_S <= loose[1] - loose[0] <= MAX_AGE_LOOSE_S + 0.051


def test_a_small_limit_under_pressure_still_settles_at_every_sync(
    redis_url: str, redis_client: redis_lib.Redis
) -> None:
    clock = Clock(MIDNIGHT)
    workers = [RateLimiter("mg", clock=clock) for _ in range(2)]
    small = plan(rps=20)  # grants follow the demand: their floor (5 tokens) is soon spent

    async def body(redis: aioredis.Redis) -> list[int]:
        return await simulate(workers, clock, small, redis, 3.0)

    allowed = with_redis(redis_url, body)
    # The grant runs out every interval, so every sync settles the key as it did before the
    # rule: the admissions are those of settling at every use ([8, 71] measured both ways).
    assert [(w.syncs, w.settled) for w in workers] == [(60, 60), (60, 60)]
    assert sum(allowed) == pytest.approx(20 + 3 * 20, abs=2)  # the full bucket, then the rate


def test_an_idle_key_returns_the_grant_it_had_not_settled_after_the_maximum_age(
    redis_url: str, redis_client: redis_lib.Redis
) -> None:
    clock = Clock(MIDNIGHT)
    limiter = RateLimiter("mg", clock=clock)
    quota = plan(per_day=100_000)  # grant 1.5 x 1 + 10

    async def body(redis: aioredis.Redis) -> None:
        await each_interval(limiter, clock, quota, redis, 1)
        await each_interval(limiter, clock, quota, redis, 3)  # used 3, not settled
        assert int(redis_client.get("mg:rl:1:1:d:20261129")) == 1 + 12  # type: ignore[arg-type]
        for _ in range(round(7.0 / 0.05)):  # idle: the scan visits it about once a second
            clock.advance(0.05)
            await limiter.sync(redis)

    with_redis(redis_url, body)
    assert limiter.settled == 2
    assert int(redis_client.get("mg:rl:1:1:d:20261129")) == 4 + 12  # type: ignore[arg-type]


def test_a_sync_with_traffic_reaches_redis_even_when_no_key_is_due(
    redis_url: str, redis_client: redis_lib.Redis
) -> None:
    clock = Clock(MIDNIGHT)
    limiter = RateLimiter("mg", clock=clock)
    strict = plan(rps=1000, redis_down="fail_closed")
    dead = f"redis://127.0.0.1:{free_port()}/0"

    async def live(redis: aioredis.Redis) -> None:
        await each_interval(limiter, clock, strict, redis, 2)

    async def down(redis: aioredis.Redis) -> None:
        await each_interval(limiter, clock, strict, redis, 1)

    with_redis(redis_url, live)
    assert limiter.settled == 1 and limiter.syncs == 2  # the new key; then an empty batch
    with_redis(dead, down)  # an outage is seen at the next sync with traffic
    assert not limiter.redis_ok and limiter.check(1, strict).status == 503
    with_redis(redis_url, live)
    assert limiter.redis_ok
