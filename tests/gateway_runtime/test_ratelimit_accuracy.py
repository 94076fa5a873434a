"""Rate-limit accuracy for real: two worker processes, the real clock, the real test Redis.

Each process is a simulated gateway worker (its own RateLimiter and sync loop) offering about
4 x the limit; together they must admit the configured rate within +-5 % over 10 s (measured after
1 s, which spends the initial bucket).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
import redis as redis_lib

ROOT = Path(__file__).resolve().parents[2]
RPS = 500


@pytest.mark.slow
def test_two_worker_processes_admit_the_limit_within_five_percent_over_ten_seconds(
    redis_url: str, redis_client: redis_lib.Redis
) -> None:
    start_at = time.time() + 2.0
    args = [
        sys.executable,
        "-m",
        "tests.gateway_runtime.ratelimit_load",
        redis_url,
        repr(start_at),
        "1",
        "10",
        str(RPS),
    ]
    procs = [
        subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # noqa: S603
        for _ in range(2)
    ]
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err.decode()
            results.append(orjson.loads(out))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    allowed = sum(r["allowed"] for r in results)
    offered = sum(r["offered"] for r in results)
    assert all(r["redis_ok"] for r in results)
    assert offered > 3 * RPS * 10  # the limit was really under pressure
    print(
        f"rate-limit accuracy: allowed {allowed} of {offered} offered, limit {RPS * 10}: "
        f"{allowed / (RPS * 10) - 1:+.2%}"
    )
    assert allowed == pytest.approx(RPS * 10, rel=0.05), results
