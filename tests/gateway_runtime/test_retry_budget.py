"""Retry budget: retries stay within 20 % of the requests of the window (plus 3/s floor)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gateway_runtime.retry_budget import RetryBudget


def test_it_allows_retries_up_to_twenty_percent_of_requests() -> None:
    budget = RetryBudget(ratio=0.2, min_per_second=0)
    budget.tick(1000.0)
    granted = 0
    for _ in range(1000):
        budget.on_request()
        if budget.try_retry():  # every request fails and wants a retry
            granted += 1
    assert granted == 200
    assert budget.denied == 800


def test_the_floor_allows_a_few_retries_on_a_quiet_upstream() -> None:
    budget = RetryBudget(ratio=0.2, min_per_second=3)
    budget.tick(1000.0)
    budget.on_request()
    assert [budget.try_retry() for _ in range(5)] == [True, True, True, False, False]
    budget.tick(1001.0)  # a new second: the floor again
    assert budget.try_retry() is True


def test_old_seconds_leave_the_window() -> None:
    budget = RetryBudget(ratio=0.2, min_per_second=0, window_s=10)
    budget.tick(0.0)
    for _ in range(100):
        budget.on_request()
    assert sum(budget.try_retry() for _ in range(50)) == 20
    budget.tick(5.0)
    assert budget.try_retry() is False  # still 20 retries for 100 requests in the window
    budget.tick(10.0)  # the second with the traffic has left the window
    assert budget.totals() == (0, 0)
    assert budget.try_retry() is False


def test_long_gaps_clear_the_whole_window() -> None:
    budget = RetryBudget(ratio=0.5, min_per_second=0, window_s=3)
    budget.tick(0.0)
    for _ in range(10):
        budget.on_request()
    budget.tick(1.0)
    assert budget.totals() == (10, 0)
    budget.tick(500.0)
    assert budget.totals() == (0, 0)


def test_it_refuses_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="ratio"):
        RetryBudget(ratio=-1)
    with pytest.raises(ValueError, match="window_s"):
        RetryBudget(window_s=0)


def test_a_gateway_retries_failing_gets_only_within_the_budget(
    redis_url: str, redis_client: Any, start_gateway: Any
) -> None:
    from tests.gateway_runtime import snapshots as snap
    from tests.gateway_runtime.conftest import http_get
    from tests.gateway_runtime.upstreams import Upstream

    ups = [Upstream(f"u{i}", fail_status=502).start() for i in range(3)]
    try:
        api = snap.api(
            1,
            "/svc/v1",
            [snap.route(1, "GET", "/echo", auth_mode="public")],
            auth_mode="public",
            retry_on=("502",),
        )
        api["retry"]["retries"] = 2
        document = snap.snapshot([api], upstreams={"svc": snap.upstream([u.port for u in ups])})
        snap.publish(redis_client, document)
        gateway = start_gateway(redis=redis_url, workers=1)
        started = time.monotonic()
        answers = [http_get(gateway.url + "/svc/v1/echo")[0] for _ in range(300)]
        elapsed = time.monotonic() - started
        attempts = sum(u.requests for u in ups)
    finally:
        for u in ups:
            u.stop()
    assert answers == [502] * 300
    retries = attempts - 300
    # Without a budget: 2 retries each (600). With it: 20 % of the requests plus 3 per second.
    assert 0.15 * 300 <= retries <= 0.2 * 300 + 3 * (elapsed + 2), (retries, elapsed)
