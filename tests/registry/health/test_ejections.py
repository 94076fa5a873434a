"""Ejections reported by gateways: recorded, probed at once, confirmed or cleared, closed."""

from __future__ import annotations

import time

import orjson
import pytest
import redis as redis_lib

from portal.local_redis import free_port
from portal.redis import redis_key
from registry.health.runner import run_tick
from registry.models import Ejection
from tests.registry.health.upstream import Upstream

pytestmark = pytest.mark.django_db


def report(instance_id: int, gateway: str, *, ejected_at: float, until: float) -> bytes:
    return orjson.dumps(
        {
            "instance": instance_id,
            "upstream": "svc",
            "gateway": gateway,
            "reason": "5 consecutive connect errors",
            "ejected_at": ejected_at,
            "until": until,
            "count": 2,
        }
    )


def test_an_ejection_is_recorded_probed_at_once_and_cleared_when_the_probe_passes(
    redis_client: redis_lib.Redis, upstream: Upstream, make_service, make_instance
) -> None:
    # A long interval: only the ejection can make this tick probe the instance.
    service = make_service(check_interval_seconds=3000, check_timeout_seconds=1)
    healthy = make_instance(service, upstream.port)
    dead = make_instance(service, free_port())
    now = time.time()
    ejections = redis_key("health", "ejections")
    redis_client.hset(
        ejections,
        mapping={
            f"{healthy.pk}|gw/1": report(healthy.pk, "gw/1", ejected_at=now, until=now + 30),
            f"{dead.pk}|gw/1": report(dead.pk, "gw/1", ejected_at=now, until=now + 30),
        },
    )
    tick = run_tick(0, client=redis_client, wait=True)
    assert tick.checked >= 2
    rows = {row.instance_id: row for row in Ejection.objects.all()}
    assert rows[healthy.pk].verdict == "cleared"
    assert rows[dead.pk].verdict == "confirmed"
    assert rows[dead.pk].verdict_reason == "connect refused"
    assert rows[dead.pk].count == 2 and rows[dead.pk].restored_at is None

    redis_client.hdel(ejections, f"{healthy.pk}|gw/1")  # the gateway restored it
    again = run_tick(0, client=redis_client, wait=True)
    assert again.checked == 0  # verdicts given: no more prompt probes
    rows = {row.instance_id: row for row in Ejection.objects.all()}
    assert rows[healthy.pk].restored_at is not None
    assert rows[dead.pk].restored_at is None


def test_a_malformed_or_unknown_report_is_ignored(
    redis_client: redis_lib.Redis, make_service, make_instance
) -> None:
    make_instance(make_service(check_interval_seconds=3000, check_timeout_seconds=1), 9)
    now = time.time()
    redis_client.hset(
        redis_key("health", "ejections"),
        mapping={
            "x": b"{not json",
            "999999|gw/1": report(999999, "gw/1", ejected_at=now, until=now + 9),
        },
    )
    tick = run_tick(0, client=redis_client, wait=True)
    assert tick.held and not tick.errors
    assert not Ejection.objects.exists()
