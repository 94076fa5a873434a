"""The heartbeat TTL of self-registered instances, like Consul's TTL check and
deregister_critical_service_after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet

from registry.choices import Health
from registry.models import Instance, Service
from registry.services.audit_context import acting_as_agent
from registry.services.instances import set_health
from registry.services.self_registration import TTL_EXPIRED

AGENT = "system:heartbeat-ttl"


@dataclass(frozen=True)
class ExpiryResult:
    marked_unhealthy: int = 0
    removed: int = 0

    def __add__(self, other: ExpiryResult) -> ExpiryResult:
        return ExpiryResult(
            self.marked_unhealthy + other.marked_unhealthy, self.removed + other.removed
        )


def expire_stale_instances(*, now: datetime) -> ExpiryResult:
    """Mark self-registered instances silent for longer than their service's TTL unhealthy,
    and remove those silent for longer than deregister_after. Safe to run concurrently and twice.
    """
    total = ExpiryResult()
    for service in Service.objects.filter(instances__self_registered=True).distinct():
        total += _expire_for_service(service, now)
    return total


def _silent_since(service: Service, cutoff: datetime) -> QuerySet[Instance]:
    # SKIP LOCKED: a row a heartbeat (or another run) holds now is left for the next run;
    # a heartbeat arriving while we hold a row waits, then sees our verdict and revives it.
    silent = Instance.objects.select_for_update(skip_locked=True)
    return silent.filter(service=service, self_registered=True, last_heartbeat_at__lt=cutoff)


def _expire_for_service(service: Service, now: datetime) -> ExpiryResult:
    with acting_as_agent(AGENT):
        doomed = list(
            _silent_since(service, now - timedelta(seconds=service.deregister_after_seconds))
        )
        for instance in doomed:
            instance.delete()
        stale = _silent_since(service, now - timedelta(seconds=service.heartbeat_ttl_seconds))
        marked = 0
        for instance in stale.exclude(health=Health.UNHEALTHY):
            fields = set_health(instance, Health.UNHEALTHY, reason=TTL_EXPIRED, now=now)
            instance.save(update_fields=[*fields, "updated_at"])
            marked += 1
    return ExpiryResult(marked_unhealthy=marked, removed=len(doomed))
