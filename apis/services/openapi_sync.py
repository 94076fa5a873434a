"""Routes of a version follow its OpenAPI operations, without losing what an admin set.

A three-way merge per route: a field derived from the document (public -> auth_mode,
scopes) takes the new document's value only while the route still holds what the
previous document said; once an admin changed it, the admin's value stays. Fields the
document never sets (timeout, body limit, enabled) are never touched.
"""

from __future__ import annotations

from typing import Any

from apis.choices import RouteAuth
from apis.models import ApiVersion, Route
from apis.services.openapi_operations import Operation, derive_operations

Key = tuple[str, str]
_FROM_DOCUMENT = ("operation_id", "summary")
_BATCH = 1000


def derived_fields(operation: Operation) -> dict[str, Any]:
    """What a route looks like when nobody has overridden anything."""
    return {
        "operation_id": operation.operation_id,
        "summary": operation.summary,
        "auth_mode": RouteAuth.PUBLIC if operation.public else RouteAuth.INHERIT,
        "scopes": list(operation.scopes),
    }


def sync_routes(version: ApiVersion, previous: dict[str, Any], operations: list[Operation]) -> None:
    """Add, update and delete `version`'s routes to match `operations`.

    `previous` is the document the routes were derived from last time (may be empty).
    New routes go in with bulk_create: a 5 MB document has thousands of operations.
    """
    wanted = {operation.key: derived_fields(operation) for operation in operations}
    before = {op.key: derived_fields(op) for op in derive_operations(previous)} if previous else {}
    existing = {(route.method, route.path_template): route for route in version.routes.all()}
    vanished = [route.pk for key, route in existing.items() if key not in wanted]
    if vanished:
        Route.objects.filter(pk__in=vanished).delete()
    _update(existing, wanted, before)
    Route.objects.bulk_create(
        [
            Route(version=version, method=key[0], path_template=key[1], **fields)
            for key, fields in wanted.items()
            if key not in existing
        ],
        batch_size=_BATCH,
    )


def _update(
    existing: dict[Key, Route], wanted: dict[Key, dict[str, Any]], before: dict[Key, Any]
) -> None:
    changed = []
    for key, route in existing.items():
        if key in wanted and _merge(route, wanted[key], before.get(key)):
            changed.append(route)
    if changed:
        fields = [*_FROM_DOCUMENT, "auth_mode", "scopes"]
        Route.objects.bulk_update(changed, fields, batch_size=_BATCH)


def _merge(route: Route, new: dict[str, Any], old: dict[str, Any] | None) -> bool:
    """Apply `new` to `route` where the admin left the old derived value; True if changed."""
    changed = False
    for name, value in new.items():
        current = getattr(route, name)
        untouched = name in _FROM_DOCUMENT or (old is not None and current == old[name])
        if untouched and current != value:
            setattr(route, name, value)
            changed = True
    return changed
