"""Applying service and instance changes through the registry's service functions."""

from __future__ import annotations

from typing import Any

from apis.catalog_io.diff import Change
from apis.catalog_io.schema import INSTANCE, SERVICE
from registry.models import Instance, Service
from registry.services import instances, services

# Refusals the registry raises besides ValidationError.
REGISTRY_ERRORS = (services.ServiceInUse, instances.AddressTaken)


def _service(slug: str) -> Service:
    return Service.objects.select_for_update().get(slug=slug)


def _instance(ident: tuple[Any, ...]) -> Instance:
    _kind, slug, host, port = ident
    return Instance.objects.select_related("service").get(
        service__slug=slug, host=host, port=port, self_registered=False
    )


def _changed(change: Change) -> dict[str, Any]:
    return {field.name: field.after for field in change.fields}


def create_service(change: Change, actor: Any) -> None:
    assert change.after is not None
    services.create_service(
        actor=actor, **{name: change.after[name] for name in SERVICE.all_fields}
    )


def update_service(change: Change, actor: Any) -> None:
    services.update_service(_service(change.ident[1]), actor=actor, **_changed(change))


def delete_service(change: Change, actor: Any) -> None:
    services.delete_service(_service(change.ident[1]), actor=actor)


def create_instance(change: Change, actor: Any) -> None:
    assert change.after is not None
    fields = {name: change.after[name] for name in INSTANCE.all_fields}
    instances.register_instance(_service(change.ident[1]), actor=actor, **fields)


def update_instance(change: Change, actor: Any) -> None:
    instances.update_instance(_instance(change.ident), actor=actor, **_changed(change))


def delete_instance(change: Change, actor: Any) -> None:
    instances.remove_instance(_instance(change.ident), actor=actor)
