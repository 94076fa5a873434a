"""The API catalogue: APIs, their versions and lifecycle, the OpenAPI document and routes.

Every write runs inside `acting_as(actor)` (one transaction, audit entries naming the
actor). Publishing the gateway snapshot is not called from here: signals on these
models schedule it after commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import ProtectedError
from django.utils import timezone

from apis.choices import LIFECYCLE_TRANSITIONS, Lifecycle
from apis.models import VERSION_PROXY_SETTINGS, Api, ApiVersion, Route
from apis.services.openapi import (
    OpenApiError,
    ParsedOpenApi,
    Problem,
    export_openapi,
    parse_openapi,
)
from apis.services.openapi_sync import sync_routes
from portal.services import acting_as

__all__ = [
    "create_api",
    "update_api",
    "delete_api",
    "create_api_version",
    "update_api_version",
    "delete_api_version",
    "import_openapi",
    "export_openapi",
    "publish_version",
    "deprecate_version",
    "retire_version",
    "update_route",
]

RETRY_CAUSES = ("connect-failure", "timeout", "502", "503", "504")
ROUTE_OVERRIDES = ("auth_mode", "scopes", "timeout_ms", "max_body_bytes", "enabled")
# Settings an admin may change on a version; state and the document have their own services.
VERSION_SETTINGS = (
    "label",
    "base_path",
    "host",
    "upstream_service",
    *VERSION_PROXY_SETTINGS,
)
_API_FIELDS = ("name", "slug", "description", "owner")


def create_api(
    *, actor: Any, name: str, slug: str, description: str = "", owner: Any = None
) -> Api:
    """A new API owned by `owner` (default: the actor)."""
    api = Api(name=name, slug=slug, description=description, owner=owner or _user_or_none(actor))
    with acting_as(actor):
        api.full_clean()
        api.save()
    return api


def update_api(api: Api, *, actor: Any, **changes: Any) -> Api:
    _apply(api, changes, allowed=_API_FIELDS)
    with acting_as(actor):
        api.full_clean()
        api.save()
    return api


def delete_api(api: Api, *, actor: Any) -> None:
    """Only an API that no gateway serves (no published or deprecated version) may go."""
    if api.versions.filter(state__in=[Lifecycle.PUBLISHED, Lifecycle.DEPRECATED]).exists():
        raise ValidationError({"state": "retire the API's published and deprecated versions first"})
    with acting_as(actor):
        _delete(api, "the API's plans still have subscriptions")


def create_api_version(
    api: Api,
    *,
    label: str,
    base_path: str,
    source: str | bytes | None = None,
    actor: Any,
    **options: Any,
) -> ApiVersion:
    """A draft version; with `source`, its OpenAPI document is imported in the same transaction."""
    parsed = parse_openapi(source) if source is not None else None
    version = ApiVersion(api=api, label=label, base_path=base_path)
    _apply(version, options, allowed=VERSION_SETTINGS)
    with acting_as(actor):
        _clean_version(version)
        version.save()
        if parsed is not None:
            _store_document(version, parsed)
    return version


def update_api_version(version: ApiVersion, *, actor: Any, **changes: Any) -> ApiVersion:
    _refuse_retired(version)
    _apply(version, changes, allowed=VERSION_SETTINGS)
    with acting_as(actor):
        _clean_version(version)
        version.save()
    return version


def delete_api_version(version: ApiVersion, *, actor: Any) -> None:
    if version.state not in (Lifecycle.DRAFT, Lifecycle.RETIRED):
        raise ValidationError(
            {"state": f"a {version.state} version is live; retire it before deleting it"}
        )
    with acting_as(actor):
        _delete(version, "the version still has subscriptions")


def import_openapi(
    version: ApiVersion, source: str | bytes | ParsedOpenApi, *, actor: Any
) -> ApiVersion:
    """Replace the version's OpenAPI document and sync its routes (overrides are kept).

    The document is parsed and validated before the transaction starts; a bad one
    raises OpenApiError and changes nothing.
    """
    parsed = source if isinstance(source, ParsedOpenApi) else parse_openapi(source)
    _refuse_retired(version)
    with acting_as(actor):
        locked = ApiVersion.objects.select_for_update().get(pk=version.pk)
        _refuse_retired(locked)
        if locked.state != Lifecycle.DRAFT and not parsed.operations:
            raise OpenApiError(
                [Problem("$.paths", None, f"a {locked.state} version needs at least one operation")]
            )
        _store_document(locked, parsed)
    version.refresh_from_db()
    return version


def publish_version(version: ApiVersion, *, actor: Any) -> ApiVersion:
    """Draft -> published: the gateway starts serving it. Needs an upstream and a route."""
    if version.upstream_service_id is None:
        raise ValidationError({"upstream_service": "choose the upstream service before publishing"})
    if not version.routes.exists():
        raise ValidationError(
            {"openapi_document": "import an OpenAPI document with at least one operation first"}
        )
    return _transition(version, Lifecycle.PUBLISHED, actor=actor, published_at=timezone.now())


def deprecate_version(version: ApiVersion, *, sunset_at: datetime | None, actor: Any) -> ApiVersion:
    """Published -> deprecated: still served, with Deprecation and Sunset headers."""
    if sunset_at is None:
        raise ValidationError({"sunset_at": "a deprecated version needs a sunset date"})
    if sunset_at <= timezone.now():
        raise ValidationError({"sunset_at": "must be in the future"})
    now = timezone.now()
    return _transition(
        version, Lifecycle.DEPRECATED, actor=actor, deprecated_at=now, sunset_at=sunset_at
    )


def retire_version(version: ApiVersion, *, actor: Any) -> ApiVersion:
    """Published or deprecated -> retired: the gateway answers 410 Gone."""
    return _transition(version, Lifecycle.RETIRED, actor=actor, retired_at=timezone.now())


def update_route(route: Route, *, actor: Any, **overrides: Any) -> Route:
    """Change a route's overrides; method and path come from the document and stay."""
    _apply(route, overrides, allowed=ROUTE_OVERRIDES)
    if not (isinstance(route.scopes, list) and all(isinstance(s, str) and s for s in route.scopes)):
        raise ValidationError({"scopes": "must be a list of scope names"})
    with acting_as(actor):
        route.full_clean()
        route.save()
    return route


def _transition(version: ApiVersion, target: str, *, actor: Any, **stamps: Any) -> ApiVersion:
    with acting_as(actor):
        locked = ApiVersion.objects.select_for_update().get(pk=version.pk)
        if target not in LIFECYCLE_TRANSITIONS[locked.state]:
            allowed = ", ".join(LIFECYCLE_TRANSITIONS[locked.state]) or "nothing (retired is final)"
            raise ValidationError(
                {"state": f"a {locked.state} version cannot become {target}; allowed: {allowed}"}
            )
        locked.state = target
        for name, value in stamps.items():
            setattr(locked, name, value)
        locked.full_clean()
        locked.save()
    version.refresh_from_db()
    return version


def _store_document(version: ApiVersion, parsed: ParsedOpenApi) -> None:
    previous = version.openapi_document or {}
    version.openapi_source = parsed.source
    version.openapi_format = parsed.format
    version.openapi_document = parsed.document
    version.openapi_version = parsed.openapi_version
    version.save()
    sync_routes(version, previous, parsed.operations)


def _clean_version(version: ApiVersion) -> None:
    retry_on = version.retry_on
    if not isinstance(retry_on, list) or any(str(cause) not in RETRY_CAUSES for cause in retry_on):
        raise ValidationError({"retry_on": f"must be a list of: {', '.join(RETRY_CAUSES)}"})
    version.retry_on = [str(cause) for cause in retry_on]
    _check_unique_version(version)
    version.full_clean()


def _check_unique_version(version: ApiVersion) -> None:
    # full_clean() reports these constraints under "__all__"; a client needs the field.
    others = ApiVersion.objects.exclude(pk=version.pk)
    if others.filter(api_id=version.api_id, label=version.label).exists():
        raise ValidationError({"label": f"the API already has a version {version.label!r}"})
    mount = others.filter(host=version.host, base_path=version.base_path).first()
    if mount is not None:
        where = f"{version.host or '(any host)'} {version.base_path}"
        raise ValidationError({"base_path": f"{where} is already the mount of {mount}"})


def _apply(instance: Any, changes: dict[str, Any], *, allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise ValidationError({name: "this field cannot be set here" for name in unknown})
    for name, value in changes.items():
        setattr(instance, name, value)


def _refuse_retired(version: ApiVersion) -> None:
    if version.state == Lifecycle.RETIRED:
        raise ValidationError({"state": "a retired version cannot be changed"})


def _delete(instance: Api | ApiVersion, reason: str) -> None:
    try:
        instance.delete()
    except ProtectedError:
        raise ValidationError({"subscriptions": reason}) from None


def _user_or_none(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None
