"""One simulated gateway worker for the rate-limit accuracy test (run as a separate process).

python -m tests.gateway_runtime.ratelimit_load REDIS_URL START_AT WARMUP SECONDS RPS
Offers ~2,000 requests/s to its own RateLimiter (real clock, real sync loop against Redis) and
prints JSON: requests allowed inside [START_AT + WARMUP, START_AT + WARMUP + SECONDS).
"""

from __future__ import annotations

import asyncio
import sys
import time

import orjson
import redis.asyncio as aioredis

from gateway_runtime.config.table import Plan
from gateway_runtime.ratelimit import RateLimiter


async def main(
    url: str, start_at: float, warmup: float, seconds: float, rps: int
) -> dict[str, float]:
    plan = Plan(
        id=1,
        name="load",
        rps=rps,
        rpm=None,
        per_day=None,
        per_month=None,
        burst=None,
        redis_down="local",
    )
    limiter = RateLimiter("load")
    redis = aioredis.Redis.from_url(url)
    stop = asyncio.Event()
    await asyncio.sleep(max(0.0, start_at - time.time()))
    syncer = asyncio.create_task(limiter.run(redis, stop))
    begin, end = start_at + warmup, start_at + warmup + seconds
    allowed = offered = 0
    while (now := time.time()) < end:
        for _ in range(2):
            ok = limiter.check(1, plan).allowed
            if now >= begin:
                offered += 1
                allowed += ok
        await asyncio.sleep(0.001)
    stop.set()
    await syncer
    await redis.aclose()
    return {
        "allowed": allowed,
        "offered": offered,
        "syncs": limiter.syncs,
        "redis_ok": limiter.redis_ok,
    }


if __name__ == "__main__":
    url, start_at, warmup, seconds, rps = sys.argv[1:6]
    result = asyncio.run(main(url, float(start_at), float(warmup), float(seconds), int(rps)))
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
