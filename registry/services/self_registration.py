"""Consul-style self-registration: an instance registers, heartbeats and deregisters itself.

Registering counts as the first heartbeat, so a new instance starts healthy and takes
traffic at once. (Consul starts a TTL check critical unless the registration gives a
status; we take the call itself as proof of life, and the TTL catches an instance that
never heartbeats again.) An operator's drain survives re-registration and heartbeats.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict, Unpack

from django.db.models import Q

from registry.choices import Health
from registry.models import Instance, Service
from registry.services.audit_context import acting_as_agent
from registry.services.instances import AddressTaken, set_health

TTL_EXPIRED = "heartbeat TTL expired"


class SelfRegistrationFields(TypedDict, total=False):
    scheme: str
    weight: int
    zone: str
    tags: list[str]
    metadata: dict[str, Any]


def agent_label(service: Service) -> str:
    return f"service:{service.slug}"


def _revive(instance: Instance, now: datetime, reason: str) -> list[str]:
    # Only revive what the TTL (or nothing yet) judged; an unhealthy verdict from a
    # health probe is not the heartbeat's to overturn.
    if instance.health == Health.UNKNOWN or instance.state_reason == TTL_EXPIRED:
        return set_health(instance, Health.HEALTHY, reason=reason, now=now)
    return []


def register_self(
    service: Service,
    *,
    host: str,
    port: int,
    now: datetime,
    **fields: Unpack[SelfRegistrationFields],
) -> tuple[Instance, bool]:
    """Create or refresh the calling instance; returns (instance, created).

    A refresh changes only the fields given. An address an operator registered is not
    taken over: the TTL would otherwise remove an instance someone manages by hand.
    """
    with acting_as_agent(agent_label(service)):
        instance = (
            Instance.objects.select_for_update()
            .filter(service=service, host=host, port=port)
            .first()
        )
        if instance is None:
            return _create(service, host=host, port=port, now=now, **fields), True
        if not instance.self_registered:
            raise AddressTaken(
                f"{host}:{port} of service '{service.slug}' is managed by an operator"
            )
        return _refresh(instance, now=now, changes=dict(fields)), False


def _create(
    service: Service,
    *,
    host: str,
    port: int,
    now: datetime,
    **fields: Unpack[SelfRegistrationFields],
) -> Instance:
    instance = Instance(
        service=service,
        host=host,
        port=port,
        self_registered=True,
        last_heartbeat_at=now,
        health=Health.HEALTHY,
        state_changed_at=now,
        state_reason="registered",
        **fields,
    )
    instance.full_clean()
    instance.save()
    return instance


def _refresh(instance: Instance, *, now: datetime, changes: dict[str, Any]) -> Instance:
    changed = [name for name, value in changes.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, changes[name])
    instance.full_clean(validate_constraints=False)
    instance.last_heartbeat_at = now
    extra = _revive(instance, now, "registered again")
    instance.save(update_fields=[*changed, *extra, "last_heartbeat_at", "updated_at"])
    return instance


def heartbeat_instance(instance: Instance, *, now: datetime) -> Instance | None:
    """Record a heartbeat; returns None if the instance is gone (removed by the TTL)."""
    with acting_as_agent(agent_label(instance.service)):
        current = Instance.objects.select_for_update().filter(pk=instance.pk).first()
        if current is None:
            return None
        extra = _revive(current, now, "heartbeat received")
        current.last_heartbeat_at = now
        if extra:
            current.save(update_fields=[*extra, "last_heartbeat_at", "updated_at"])
        else:
            # A plain heartbeat changes nothing the gateway or the audit log cares about, so it
            # skips the model signals: one save per heartbeat would publish a snapshot each time.
            Instance.objects.filter(pk=current.pk).update(last_heartbeat_at=now)
    return current


def deregister_instance(instance: Instance) -> None:
    """Remove a self-registered instance at its own request."""
    with acting_as_agent(agent_label(instance.service)):
        instance.delete()


def own_instances(service: Service) -> Q:
    """The instances a service's token may touch: its own self-registered ones."""
    return Q(service=service, self_registered=True)
