"""The heartbeat TTL's verdicts reach the gateways as health updates too."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis as redis_lib
from django.utils import timezone

from registry.health.propagate import read_states
from registry.services.expiry import expire_stale_instances
from registry.services.self_registration import TTL_EXPIRED, register_self

pytestmark = pytest.mark.django_db


def test_an_expired_instance_is_published_unhealthy_then_removed(
    redis_client: redis_lib.Redis, make_service, django_capture_on_commit_callbacks
) -> None:
    service = make_service(
        heartbeat_ttl_seconds=5,
        deregister_after_seconds=60,
        check_interval_seconds=10,
        check_timeout_seconds=1,
    )
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        instance, _ = register_self(service, host="10.0.0.5", port=80, now=start)
    assert read_states(redis_client)[instance.pk]["state"] == "healthy"

    with django_capture_on_commit_callbacks(execute=True):
        expire_stale_instances(now=start + timedelta(seconds=10))
    state = read_states(redis_client)[instance.pk]
    assert (state["state"], state["reason"]) == ("unhealthy", TTL_EXPIRED)

    with django_capture_on_commit_callbacks(execute=True):
        expire_stale_instances(now=start + timedelta(seconds=61))
    assert instance.pk not in read_states(redis_client)
