from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from registry import tasks
from registry.choices import Health
from registry.models import Instance, Service
from registry.services.expiry import ExpiryResult, expire_stale_instances
from registry.services.instances import drain_instance, register_instance
from registry.services.self_registration import TTL_EXPIRED, heartbeat_instance, register_self

pytestmark = pytest.mark.django_db


@pytest.fixture
def start() -> datetime:
    return timezone.now().replace(microsecond=0)


def _self_registered(service: Service, now: datetime, port: int = 80) -> Instance:
    instance, _created = register_self(service, host="10.2.0.1", port=port, now=now)
    return instance


def test_a_silent_instance_goes_unhealthy_after_the_ttl(payments: Service, start: datetime) -> None:
    instance = _self_registered(payments, start)
    assert expire_stale_instances(now=start + timedelta(seconds=30)) == ExpiryResult()
    result = expire_stale_instances(now=start + timedelta(seconds=31))
    assert result == ExpiryResult(marked_unhealthy=1, removed=0)
    instance.refresh_from_db()
    assert (instance.state, instance.state_reason) == ("unhealthy", TTL_EXPIRED)
    assert instance.state_changed_at == start + timedelta(seconds=31)


def test_a_silent_instance_is_removed_after_deregister_after(
    payments: Service, start: datetime
) -> None:
    _self_registered(payments, start)
    expire_stale_instances(now=start + timedelta(seconds=31))
    assert expire_stale_instances(now=start + timedelta(seconds=300)).removed == 0
    assert expire_stale_instances(now=start + timedelta(seconds=301)) == ExpiryResult(removed=1)
    assert not Instance.objects.exists()


def test_running_twice_changes_nothing_more(payments: Service, start: datetime) -> None:
    _self_registered(payments, start)
    later = start + timedelta(seconds=60)
    assert expire_stale_instances(now=later).marked_unhealthy == 1
    assert expire_stale_instances(now=later) == ExpiryResult()


def test_heartbeats_keep_an_instance_alive_and_revive_it(
    payments: Service, start: datetime
) -> None:
    instance = _self_registered(payments, start)
    heartbeat_instance(instance, now=start + timedelta(seconds=25))
    assert expire_stale_instances(now=start + timedelta(seconds=50)) == ExpiryResult()
    expire_stale_instances(now=start + timedelta(seconds=56))
    revived = heartbeat_instance(instance, now=start + timedelta(seconds=57))
    assert revived is not None and revived.state == "healthy"
    assert Instance.objects.get().health == Health.HEALTHY


def test_each_service_uses_its_own_ttl(
    payments: Service, ledger: Service, oscar, start: datetime
) -> None:
    from registry.services.services import update_service

    update_service(ledger, actor=oscar, heartbeat_ttl_seconds=120)
    quick = _self_registered(payments, start)
    slow = _self_registered(ledger, start)
    assert expire_stale_instances(now=start + timedelta(seconds=60)).marked_unhealthy == 1
    quick.refresh_from_db()
    slow.refresh_from_db()
    assert (quick.health, slow.health) == (Health.UNHEALTHY, Health.HEALTHY)


def test_operator_instances_never_expire(payments: Service, oscar, start: datetime) -> None:
    register_instance(payments, actor=oscar, host="10.2.0.9", port=80)
    assert expire_stale_instances(now=start + timedelta(days=30)) == ExpiryResult()
    assert Instance.objects.get().health == Health.UNKNOWN


def test_an_expired_instance_that_was_drained_stays_drained(
    payments: Service, oscar, start: datetime
) -> None:
    instance = _self_registered(payments, start)
    drain_instance(instance, actor=oscar)
    expire_stale_instances(now=start + timedelta(seconds=40))
    instance.refresh_from_db()
    assert (instance.state, instance.health) == ("draining", Health.UNHEALTHY)


def test_the_celery_task_expires_through_the_real_clock(payments: Service, start: datetime) -> None:
    _self_registered(payments, start)
    with time_machine.travel(start + timedelta(seconds=45), tick=False):
        assert tasks.expire_stale_instances() == {"marked_unhealthy": 1, "removed": 0}
    with time_machine.travel(start + timedelta(seconds=400), tick=False):
        assert tasks.expire_stale_instances() == {"marked_unhealthy": 0, "removed": 1}
    assert not Instance.objects.exists()


def test_beat_has_the_expiry_task_every_five_seconds() -> None:
    periodic = PeriodicTask.objects.get(task="registry.tasks.expire_stale_instances")
    assert periodic.enabled and periodic.interval is not None
    assert (periodic.interval.every, periodic.interval.period) == (5, "seconds")
    assert periodic.task in tasks.expire_stale_instances.app.tasks
