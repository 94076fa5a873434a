"""Carrying out a list of changes, all in one transaction.

Order matters: services exist before versions point at them, a deleted version frees
its mount before another takes it, and a service is deleted only after the versions
that used it have moved or gone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import DatabaseError

from apis.catalog_io import apply_apis, apply_registry
from apis.catalog_io.diff import Change
from apis.catalog_io.errors import CatalogError, Problem
from apis.services.openapi import OpenApiError
from portal.services import acting_as

if TYPE_CHECKING:
    from portal.models import User

Handler = Callable[[Change, Any], None]

_PHASES: list[tuple[str, str, Handler]] = [
    ("service", "create", apply_registry.create_service),
    ("service", "update", apply_registry.update_service),
    ("instance", "delete", apply_registry.delete_instance),
    ("instance", "create", apply_registry.create_instance),
    ("instance", "update", apply_registry.update_instance),
    ("api", "create", apply_apis.create_api),
    ("api", "update", apply_apis.update_api),
    ("version", "delete", apply_apis.delete_version),
    ("plan", "delete", apply_apis.delete_plan),
    ("plan", "create", apply_apis.create_plan),
    ("plan", "update", apply_apis.update_plan),
    ("version", "create", apply_apis.create_version),
    ("version", "update", apply_apis.update_version),
    ("api", "delete", apply_apis.delete_api),
    ("service", "delete", apply_registry.delete_service),
]
_ORDER = {(kind, action): index for index, (kind, action, _handler) in enumerate(_PHASES)}
_HANDLERS = {(kind, action): handler for kind, action, handler in _PHASES}


def apply_changes(
    changes: list[Change], *, actor: User | None, where: Callable[[Change], Problem]
) -> None:
    """Apply every change or none; a failure raises CatalogError naming the record."""
    ordered = sorted(changes, key=lambda change: _ORDER[(change.kind.name, change.action)])
    with acting_as(actor):
        for change in ordered:
            try:
                _HANDLERS[(change.kind.name, change.action)](change, actor)
            except (
                ValidationError,
                ObjectDoesNotExist,
                DatabaseError,
                OpenApiError,
                *apply_registry.REGISTRY_ERRORS,
            ) as exc:
                located = where(change)
                raise CatalogError(
                    [Problem(located.path, located.line, f"{change.label}: {_reason(exc)}")]
                ) from exc


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError) and hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
