"""Create, change and delete services, and issue their self-registration tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from django.core.exceptions import ValidationError

from portal.services import acting_as
from registry.models import Service
from registry.services.tokens import generate_token

if TYPE_CHECKING:
    from portal.models import User


class ServiceFields(TypedDict, total=False):
    name: str
    slug: str
    description: str
    owner: User | None
    check_type: str
    check_method: str
    check_path: str
    check_expected_statuses: str
    check_body_contains: str
    check_headers: dict[str, str]
    check_tls_verify: bool
    check_interval_seconds: float
    check_timeout_seconds: float
    healthy_threshold: int
    unhealthy_threshold: int
    heartbeat_ttl_seconds: int
    deregister_after_seconds: int
    lb_algorithm: str
    hash_on: str
    hash_key: str
    max_in_flight: int | None


EDITABLE_FIELDS = frozenset(ServiceFields.__annotations__)


class ServiceInUse(Exception):
    """The service is the upstream of API versions, so it cannot be deleted."""


def _reject_unknown(fields: dict[str, Any]) -> None:
    # The token columns and timestamps are written only by this module.
    unknown = sorted(set(fields) - EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({name: "this field cannot be set here" for name in unknown})


def create_service(*, actor: User | None, **fields: Unpack[ServiceFields]) -> Service:
    """Create a service; its owner defaults to the actor."""
    _reject_unknown(dict(fields))
    fields.setdefault("owner", actor)
    with acting_as(actor):
        service = Service(**fields)
        service.full_clean()
        service.save()
    return service


def update_service(
    service: Service, *, actor: User | None, **changes: Unpack[ServiceFields]
) -> Service:
    """Change a service's settings; validation covers the whole row, not only the changes."""
    _reject_unknown(dict(changes))
    with acting_as(actor):
        for name, value in changes.items():
            setattr(service, name, value)
        service.full_clean()
        service.save(update_fields=[*changes, "updated_at"])
    return service


def delete_service(service: Service, *, actor: User | None) -> None:
    """Delete a service and its instances, unless an API version routes to it."""
    versions = list(service.api_versions.values_list("api__slug", "label")[:5])
    if versions:
        named = ", ".join(f"{api} {label}" for api, label in versions)
        raise ServiceInUse(f"service '{service.slug}' is the upstream of API versions ({named})")
    with acting_as(actor):
        service.delete()


def issue_registration_token(service: Service, *, actor: User | None) -> str:
    """Issue the service's self-registration token and return it; it is never shown again.

    Issuing again replaces the previous token at once.
    """
    token = generate_token()
    with acting_as(actor):
        service.registration_token_prefix = token.prefix
        service.registration_token_hash = token.digest
        service.save(
            update_fields=["registration_token_prefix", "registration_token_hash", "updated_at"]
        )
    return token.raw
