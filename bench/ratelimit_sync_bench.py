"""What one rate-limit sync costs the gateway and Redis, by the number of keys it settles.

    .venv/bin/python bench/ratelimit_sync_bench.py [--keys 100 900 5000] [--rounds 5]

A worker settles every key used since its last sync in one Lua call every 50 ms
(gateway_runtime/ratelimit.py). With traffic spread over many consumers that is most of the
keys: gateway_bench.py --redis at ~20,000 rps over 10,000 keys settles about 900 per sync.
The sync runs on the worker's event loop, so its CPU is a stall every request waiting then
shares. Starts a throwaway Redis, fills a RateLimiter with N used keys of one plan, and prints
per sync: the worker's CPU (process time: collecting, encoding, the client, applying the
answer), the wall time (mostly the script running in Redis), both per key. Best of --rounds.
"""

from __future__ import annotations

import argparse
import asyncio
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
    limiter = RateLimiter(prefix="bench")
    best_cpu = best_wall = float("inf")
    try:
        for round_no in range(rounds + 1):
            for app in range(keys):
                limiter.check(app, PLAN)
            cpu, wall = time.process_time(), time.perf_counter()
            await limiter.sync(redis)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if round_no:  # the first sync also opens every key and loads the script
                best_cpu, best_wall = min(best_cpu, cpu), min(best_wall, wall)
        if not limiter.redis_ok:
            raise RuntimeError(f"the sync failed: {limiter.last_error}")
    finally:
        await redis.aclose()
    return best_cpu, best_wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, nargs="+", default=[100, 900, 5000])
    parser.add_argument("--rounds", type=int, default=5)
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
    finally:
        server.stop()


if __name__ == "__main__":
    main()
