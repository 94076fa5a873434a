"""In a real browser, against a real gateway process: requests through the gateway show up
on the operator dashboard as rate, errors and p99 (from the usage aggregates the gateway
flushes to Redis, contracts §4), and the gateways page shows that gateway on the current
revision (from its own status reports, contracts §2)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from apis.services.catalogue import create_api, create_api_version, publish_version
from portal.publishing.services import publish_revision
from registry.models import Instance
from registry.services.instances import register_instance
from registry.services.services import create_service
from tests.gateway_runtime.conftest import (  # noqa: F401 - fixtures
    http_get,
    ok_upstream,
    start_gateway,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DOCUMENT = """openapi: 3.1.0
info: {title: Orders, version: "1"}
paths:
  /items/{id}:
    get:
      operationId: getItem
      security: []
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
"""
REQUESTS = 40


@pytest.fixture
def published(alice: Any, oscar: Any, ok_upstream: int) -> int:  # noqa: F811
    service = create_service(actor=oscar, name="Orders", slug="orders")
    instance = register_instance(service, actor=oscar, host="127.0.0.1", port=ok_upstream)
    Instance.objects.filter(pk=instance.pk).update(health="healthy")
    api = create_api(actor=alice, name="Orders", slug="orders")
    version = create_api_version(
        api,
        actor=alice,
        label="v1",
        base_path="/orders/v1",
        source=DOCUMENT,
        upstream_service=service,
        auth_mode="public",
    )
    publish_version(version, actor=alice)
    revision = publish_revision(actor=alice, reason="orders v1")
    assert revision is not None
    return revision.revision


def test_gateway_traffic_and_revision_show_on_the_dashboards(
    oscar: Any,
    published: int,
    redis_url: str,
    start_gateway: Any,  # noqa: F811
    page_as: Callable[[Any], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    gateway = start_gateway(redis=redis_url, wait="ready")
    url = f"{gateway.url}/orders/v1/items/1"
    wait_until(lambda: http_get(url)[0] == 200, 15, 0.05, "the gateway to serve orders v1")
    statuses = [http_get(url)[0] for _ in range(REQUESTS)]
    assert statuses == [200] * REQUESTS

    page = page_as(oscar)
    page.goto("/operator/")
    # The gateway flushes its counters every ~5 s; the panel polls every 3 s.
    traffic = page.locator("#traffic")
    expect(traffic).to_contain_text("orders v1", timeout=20_000)
    row = traffic.locator("tbody tr", has_text="orders v1")
    cells = row.locator("td")
    assert int(cells.nth(2).inner_text()) >= REQUESTS
    assert cells.nth(3).inner_text() == "0%"
    expect(cells.nth(6)).to_contain_text("ms")
    expect(page.locator("#gateway-summary")).to_contain_text(
        f"1/1 gateway workers on revision {published}"
    )
    screenshot(page, "operator-traffic")

    page.goto("/operator/gateways/")
    expect(page.locator("#gateways")).to_contain_text(f"test-gw:{gateway.port}")
    expect(page.locator("#gateways")).to_contain_text("current")
    screenshot(page, "operator-gateways")
