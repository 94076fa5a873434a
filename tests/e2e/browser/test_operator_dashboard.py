"""In a real browser: an operator watches the services dashboard update by itself while the
real health checker (celery beat + a health worker, as in production) probes two real
upstream processes; one process is killed (SIGKILL) and its row turns unhealthy without a
page reload; the operator then drains the other one and asks for a check."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis as redis_lib
from playwright.sync_api import Page, expect

from portal.redis import redis_key
from registry.health.beat import ensure_schedule
from registry.health.history import roll_up
from registry.models import Instance
from registry.services.instances import register_instance
from registry.services.services import create_service
from tests.e2e.test_health_checks import Stack, Upstream

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Worker and beat start in a few seconds; under load (CI, shared cores) allow more.
START_MS = 60_000
DETECT_MS = 20_000


@pytest.fixture
def servers() -> Iterator[tuple[Upstream, Upstream]]:
    pair = (Upstream(), Upstream())
    for server in pair:
        server.start()
    yield pair
    for server in pair:
        if server.process is not None and server.process.poll() is None:
            server.kill()


@pytest.fixture
def fleet(oscar: Any, servers: tuple[Upstream, Upstream]) -> tuple[Instance, Instance]:
    service = create_service(
        actor=oscar,
        name="Orders",
        slug="orders",
        check_interval_seconds=1,
        check_timeout_seconds=0.5,
    )
    a, b = servers
    return (
        register_instance(service, actor=oscar, host="127.0.0.1", port=a.port),
        register_instance(service, actor=oscar, host="127.0.0.1", port=b.port),
    )


@pytest.fixture
def checker(
    redis_url: str, redis_client: redis_lib.Redis, fleet: Any, tmp_path: Path
) -> Iterator[Stack]:
    stack = Stack(redis_url, tmp_path, lease_seconds=2.0)
    ensure_schedule(shards=1, queue=stack.queue)
    stack.start_worker()
    stack.start_beat()
    yield stack
    stack.stop()


def _row(page: Page, instance: Instance) -> Any:
    return page.locator(f"#instance-{instance.pk}")


def test_an_operator_sees_a_killed_instance_go_down_and_drains_another(
    oscar: Any,
    servers: tuple[Upstream, Upstream],
    fleet: tuple[Instance, Instance],
    checker: Stack,
    redis_client: redis_lib.Redis,
    page_as: Callable[[Any], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    first, second = fleet
    page = page_as(oscar)
    page.goto("/operator/")
    expect(_row(page, first)).to_have_attribute("data-state", "healthy", timeout=START_MS)
    expect(_row(page, second)).to_have_attribute("data-state", "healthy", timeout=START_MS)

    # Kill the first server; the panel polls itself, so the same page (no reload) shows it.
    page.evaluate("window.__sameDocument = true")
    servers[0].kill()
    expect(_row(page, first)).to_have_attribute("data-state", "unhealthy", timeout=DETECT_MS)
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
    expect(_row(page, first)).to_contain_text("unhealthy")
    expect(_row(page, second)).to_have_attribute("data-state", "healthy")
    screenshot(page, "operator-services")

    # Drain the second one (the confirm dialog is accepted by the fixture).
    _row(page, second).get_by_role("button", name="Drain").click()
    expect(page.locator(".message.success")).to_contain_text("draining")
    expect(_row(page, second)).to_have_attribute("data-state", "draining")
    expect(_row(page, second).get_by_role("button", name="Undrain")).to_be_visible()
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.draining and first.health == "unhealthy"
    live = orjson.loads(redis_client.hget(redis_key("health", "states"), str(second.pk)))
    assert live["state"] == "draining"

    # Check now: the request is queued for the checker's next tick, and audited.
    _row(page, first).get_by_role("button", name="Check now").click()
    expect(page.locator(".message.success")).to_contain_text("check requested")

    # The service page with its history charts.
    roll_up(redis_client, now=time.time() + 120)  # close the current minute for the chart
    page.goto("/operator/services/orders/")
    expect(page.locator(f"#chart-{first.pk}")).to_be_visible()
    page.wait_for_function("() => window.Chart && Object.keys(Chart.instances).length >= 1")
    screenshot(page, "operator-service")
