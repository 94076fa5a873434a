"""Operators register, change, drain and remove instances.

Every write names its columns (`save(update_fields=...)`): health is written by other
hands (the TTL task now, health probes later), and a weight change made from a stale
copy of the row must not put an old health value back.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.services import acting_as
from registry.choices import Health
from registry.models import Instance, Service

if TYPE_CHECKING:
    from portal.models import User

ADDRESS_FIELDS = frozenset({"host", "port", "scheme"})


class InstanceFields(TypedDict, total=False):
    host: str
    port: int
    scheme: str
    weight: int
    zone: str
    tags: list[str]
    metadata: dict[str, Any]


EDITABLE_FIELDS = frozenset(InstanceFields.__annotations__)


class AddressTaken(Exception):
    """Another instance of the same service already has this host and port."""


def ensure_address_free(
    service: Service, host: str, port: int, *, exclude_pk: int | None = None
) -> None:
    others = Instance.objects.filter(service=service, host=host, port=port)
    if exclude_pk is not None:
        others = others.exclude(pk=exclude_pk)
    if others.exists():
        raise AddressTaken(f"{host}:{port} is already an instance of service '{service.slug}'")


def set_health(instance: Instance, health: str, *, reason: str, now: datetime) -> list[str]:
    """Move an instance to `health`; returns the columns to save (none if nothing changed)."""
    if instance.health == health:
        return []
    instance.health = health
    instance.state_changed_at = now
    instance.state_reason = reason
    return ["health", "state_changed_at", "state_reason"]


def _reject_unknown(fields: dict[str, Any]) -> None:
    unknown = sorted(set(fields) - EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: "this field cannot be set here" for name in unknown})


def register_instance(
    service: Service, *, actor: User | None, **fields: Unpack[InstanceFields]
) -> Instance:
    """Add an instance to a service. Its health stays unknown until something checks it."""
    _reject_unknown(dict(fields))
    with acting_as(actor):
        instance = Instance(service=service, **fields)
        instance.full_clean(validate_constraints=False)
        ensure_address_free(service, instance.host, instance.port)
        instance.save()
    return instance


def update_instance(
    instance: Instance, *, actor: User | None, **changes: Unpack[InstanceFields]
) -> Instance:
    """Change an instance's address or balancing settings.

    A new address makes the old health meaningless, so it goes back to unknown.
    """
    _reject_unknown(dict(changes))
    with acting_as(actor):
        before = {name: getattr(instance, name) for name in ADDRESS_FIELDS}
        for name, value in changes.items():
            setattr(instance, name, value)
        instance.full_clean(validate_constraints=False)
        ensure_address_free(instance.service, instance.host, instance.port, exclude_pk=instance.pk)
        moved = any(getattr(instance, name) != value for name, value in before.items())
        extra = (
            set_health(instance, Health.UNKNOWN, reason="address changed", now=timezone.now())
            if moved
            else []
        )
        if moved:  # the old address's passes or failures say nothing about the new one
            instance.check_streak = 0
            extra.append("check_streak")
        instance.save(update_fields=[*changes, *extra, "updated_at"])
    return instance


def remove_instance(instance: Instance, *, actor: User | None) -> None:
    """Remove an instance from its service."""
    with acting_as(actor):
        instance.delete()


def drain_instance(instance: Instance, *, actor: User | None, reason: str = "") -> Instance:
    """Stop sending new traffic to an instance until it is undrained; health keeps being tracked."""
    label = getattr(actor, "username", None) or "system"
    return _set_draining(instance, True, actor=actor, reason=reason or f"drained by {label}")


def undrain_instance(instance: Instance, *, actor: User | None, reason: str = "") -> Instance:
    """Send traffic to a drained instance again (if its health allows)."""
    label = getattr(actor, "username", None) or "system"
    return _set_draining(instance, False, actor=actor, reason=reason or f"undrained by {label}")


def _set_draining(
    instance: Instance, draining: bool, *, actor: User | None, reason: str
) -> Instance:
    if instance.draining == draining:
        return instance
    with acting_as(actor):
        instance.draining = draining
        instance.state_changed_at = timezone.now()
        instance.state_reason = reason[:300]
        instance.save(update_fields=["draining", "state_changed_at", "state_reason", "updated_at"])
    return instance
