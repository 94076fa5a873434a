"""The Celery task's path: the tick returns at once, a recorder thread writes the results."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
import redis as redis_lib

from registry.models import Instance
from registry.tasks import health_tick
from tests.registry.health.upstream import Upstream

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_tick_task_returns_before_its_probes_finish_and_results_still_land(
    redis_client: redis_lib.Redis,
    upstream_factory: Callable[..., Upstream],
    make_service,
    make_instance,
) -> None:
    service = make_service(check_interval_seconds=0.5, check_timeout_seconds=0.4)
    ok = make_instance(service, upstream_factory().port)
    silent = make_instance(service, upstream_factory(mode="hang").port)

    started = time.monotonic()
    report = health_tick(0)
    assert time.monotonic() - started < 0.4  # less than the probe timeout
    assert report["held"] and report["planned"] == 2

    deadline = time.monotonic() + 10
    while Instance.objects.filter(last_check_at__isnull=True).exists():
        assert time.monotonic() < deadline, "the recorder never wrote the results"
        time.sleep(0.05)
    reasons = dict(Instance.objects.values_list("pk", "last_check_reason"))
    assert reasons == {ok.pk: "", silent.pk: "timeout after 0.4s"}
