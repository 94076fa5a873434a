"""Gateway reports housekeeping, and shards splitting the instances between ticks."""

from __future__ import annotations

import time

import orjson
import pytest
import redis as redis_lib

from portal.redis import redis_key
from registry.health.runner import run_tick
from registry.services.gateways import gateway_summary, list_gateways, prune_gateways
from tests.registry.health.upstream import Upstream

pytestmark = pytest.mark.django_db


def test_reports_silent_for_an_hour_are_pruned_and_junk_is_skipped(
    redis_client: redis_lib.Redis,
) -> None:
    now = time.time()
    redis_client.hset(
        redis_key("gateways"),
        mapping={
            "gw:1/1": orjson.dumps({"gateway": "gw:1", "pid": 1, "heartbeat_at": now}),
            "gw:1/2": orjson.dumps({"gateway": "gw:1", "pid": 2, "heartbeat_at": now - 4000}),
            "gw:1/3": b"{broken",
        },
    )
    assert [w.key for w in list_gateways(now=now)] == ["gw:1/1", "gw:1/2"]
    assert prune_gateways(now=now) == 1
    assert redis_client.hkeys(redis_key("gateways")) == [b"gw:1/1", b"gw:1/3"]
    summary = gateway_summary(now=now)
    assert (summary.workers, summary.fresh, summary.on_current) == (1, 1, 0)


def test_reading_gateways_with_redis_down_gives_nothing_not_an_error(settings) -> None:  # type: ignore[no-untyped-def]
    from portal.local_redis import free_port

    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    assert list_gateways() == []
    assert gateway_summary().workers == 0


def test_each_shard_checks_only_its_own_instances(
    redis_client: redis_lib.Redis, upstream: Upstream, make_service, make_instance, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.MESHGATE_HEALTH = {**settings.MESHGATE_HEALTH, "SHARDS": 2}
    service = make_service(check_interval_seconds=0.5, check_timeout_seconds=0.3)
    instances = [make_instance(service, upstream.port, host=f"127.0.0.{n}") for n in range(1, 5)]
    even = {i.pk for i in instances if i.pk % 2 == 0}
    from registry.models import Instance

    first = run_tick(0, client=redis_client, wait=True)
    checked = set(Instance.objects.filter(last_check_at__isnull=False).values_list("pk", flat=True))
    assert first.checked == len(even) and checked == even
    second = run_tick(1, client=redis_client, wait=True)
    assert second.checked == len(instances) - len(even)
    assert not Instance.objects.filter(last_check_at__isnull=True).exists()
