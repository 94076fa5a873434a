"""What one rate-limit sync costs the gateway and Redis, by the number of keys it settles.

    .venv/bin/python bench/ratelimit_sync_bench.py [--keys 100 900 5000] [--rounds 5]
        [--traffic-keys 10000] [--traffic-rps 32000] [--traffic-seconds 10]

A worker settles used keys in one Lua call every 50 ms (gateway_runtime/ratelimit.py): each
when its grant runs low, a window ends, or its last settle is 1-5 s old. The sync runs on the
worker's event loop, so its CPU is a stall every request waiting then shares. Starts a
throwaway Redis, fills a RateLimiter with N used keys of one plan (the clock moved past the
maximum age, so that all N settle), and prints per sync: the worker's CPU (process time:
collecting, encoding, the client, applying the answer), the wall time (mostly the script
running in Redis), both per key. Best of --rounds.

Then the benchmark's traffic shape (gateway_bench.py --redis: one worker, ~32,000 rps spread at
random over 10,000 keys of a plan with a very high limit), on a simulated clock against the same
Redis: how many keys the syncs settle per second, the worker CPU the syncs take per second, and
the Redis CPU of the script (INFO commandstats: evalsha usec; settled dimensions are its HSET and
SET calls, which counts them the same way whatever the limiter's own counters are).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))

import redis.asyncio as aioredis  # noqa: E402

import gateway_runtime  # noqa: E402
from gateway_runtime.config.table import Plan  # noqa: E402
from gateway_runtime.ratelimit import RateLimiter  # noqa: E402
from portal.local_redis import start_local_redis  # noqa: E402

PLAN = Plan(
    id=1,
    name="bench",
    rps=100_000_000,
    rpm=None,
    per_day=None,
    per_month=None,
    burst=None,
    redis_down="local",
)


async def measure(url: str, keys: int, rounds: int) -> tuple[float, float]:
    """Best (CPU seconds, wall seconds) of one sync settling `keys` used keys."""
    redis = aioredis.Redis.from_url(url)
    # A used key settles when its grant runs low or its last settle is old enough: the clock
    # moves 6 s a round (past the longest maximum age) so that every key settles every round.
    clock = [1_800_000_000.0]
    limiter = RateLimiter(prefix="bench", clock=lambda: clock[0])
    best_cpu = best_wall = float("inf")
    try:
        for round_no in range(rounds + 1):
            for app in range(keys):
                limiter.check(app, PLAN)
            clock[0] += 6.0
            cpu, wall = time.process_time(), time.perf_counter()
            await limiter.sync(redis)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if round_no:  # the first sync also opens every key and loads the script
                best_cpu, best_wall = min(best_cpu, cpu), min(best_wall, wall)
        if not limiter.redis_ok:
            raise RuntimeError(f"the sync failed: {limiter.last_error}")
        if await redis.exists(f"bench:rl:{keys - 1}:1:s") != 1:
            raise RuntimeError("the sync did not settle every key")
    finally:
        await redis.aclose()
    return best_cpu, best_wall


async def traffic(url: str, keys: int, rps: int, seconds: float) -> dict[str, float]:
    """Settled keys, sync CPU and Redis CPU per simulated second under uniform random traffic."""
    redis = aioredis.Redis.from_url(url)
    clock = [1_800_000_000.0]
    limiter = RateLimiter(prefix="traffic", clock=lambda: clock[0])
    rng = random.Random(1)
    per_sync = round(rps * limiter.sync_interval)
    syncs = round(seconds / limiter.sync_interval)
    warm = round(10.0 / limiter.sync_interval)
    cpu = 0.0
    try:
        # Warm up for 10 simulated seconds (past the longest maximum age): a steady state.
        for step in range(warm + syncs):
            if step == warm:
                await redis.config_resetstat()
                cpu = 0.0
            for _ in range(per_sync):
                limiter.check(rng.randrange(keys), PLAN)
            clock[0] += limiter.sync_interval
            started = time.process_time()
            await limiter.sync(redis)
            cpu += time.process_time() - started
        stats = await redis.info("commandstats")
        if not limiter.redis_ok:
            raise RuntimeError(f"the sync failed: {limiter.last_error}")
    finally:
        await redis.aclose()

    def stat(name: str, field: str) -> float:
        return float(stats.get(f"cmdstat_{name}", {}).get(field, 0))

    settled = stat("hset", "calls") + stat("set", "calls")
    return {
        "settled_per_s": settled / seconds,
        "sync_cpu_ms_per_s": cpu / seconds * 1e3,
        "redis_ms_per_s": stat("evalsha", "usec") / seconds / 1e3,
        "redis_us_per_key": stat("evalsha", "usec") / max(settled, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, nargs="+", default=[100, 900, 5000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--traffic-keys", type=int, default=10_000)
    parser.add_argument("--traffic-rps", type=int, default=32_000)
    parser.add_argument("--traffic-seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(f"hot path: {gateway_runtime.HOT_PATH.describe()}")
    server = start_local_redis()
    try:
        for keys in args.keys:
            cpu, wall = asyncio.run(measure(server.url, keys, args.rounds))
            print(
                f"{keys:6d} keys per sync: worker CPU {cpu * 1e3:6.2f} ms "
                f"({cpu / keys * 1e6:4.2f} us/key), wall {wall * 1e3:6.2f} ms "
                f"({wall / keys * 1e6:5.2f} us/key)"
            )
        if args.traffic_seconds > 0:
            t = asyncio.run(
                traffic(server.url, args.traffic_keys, args.traffic_rps, args.traffic_seconds)
            )
            print(
                f"traffic {args.traffic_rps} rps over {args.traffic_keys} keys, one worker, "
                f"{args.traffic_seconds:g} simulated s: {t['settled_per_s']:.0f} keys settled/s; "
                f"sync worker CPU {t['sync_cpu_ms_per_s']:.1f} ms/s; Redis script CPU "
                f"{t['redis_ms_per_s']:.1f} ms/s ({t['redis_us_per_key']:.1f} us/key)"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
