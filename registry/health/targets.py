"""What a tick checks: the shard's instances with their service's check settings."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models.functions import Mod

from registry.health.probes import CheckSpec
from registry.models import Instance, Service


@dataclass(frozen=True, slots=True)
class Target:
    id: int
    upstream: str
    scheme: str
    host: str
    port: int
    interval: float
    spec: CheckSpec
    healthy_after: int
    unhealthy_after: int


def spec_for(service: Service) -> CheckSpec:
    """The probe settings of a service (validated by Service.clean when saved)."""
    headers = service.check_headers if isinstance(service.check_headers, dict) else {}
    return CheckSpec(
        kind=service.check_type,
        method=service.check_method.upper(),
        path=service.check_path if service.check_path.startswith("/") else f"/{service.check_path}",
        statuses=tuple(service.expected_status_ranges),
        body_contains=service.check_body_contains,
        headers=tuple((str(k), str(v)) for k, v in headers.items()),
        tls_verify=service.check_tls_verify,
        timeout=service.check_timeout_seconds,
        statuses_label=service.check_expected_statuses,
    )


def shard_of(instance_id: int, shards: int) -> int:
    return instance_id % shards


def load_targets(shard: int, shards: int) -> list[Target]:
    """The shard's instances, two queries whatever their number."""
    services = {service.pk: service for service in Service.objects.all()}
    specs = {pk: spec_for(service) for pk, service in services.items()}
    rows = Instance.objects.all()
    if shards > 1:
        rows = rows.alias(shard=Mod("id", shards)).filter(shard=shard)
    targets = []
    for pk, host, port, scheme, service_id in rows.values_list(
        "id", "host", "port", "scheme", "service_id"
    ).order_by():
        service = services.get(service_id)
        if service is None:  # created between the two queries: next tick
            continue
        targets.append(
            Target(
                id=pk,
                upstream=service.slug,
                scheme=scheme,
                host=host,
                port=port,
                interval=service.check_interval_seconds,
                spec=specs[service_id],
                healthy_after=service.healthy_threshold,
                unhealthy_after=service.unhealthy_threshold,
            )
        )
    return targets
