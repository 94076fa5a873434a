"""Applying API, plan and version changes through the catalogue's service functions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from apis.catalog_io.diff import Change
from apis.catalog_io.routes import route_baselines, route_key
from apis.catalog_io.schema import PLAN, parse_file_datetime
from apis.choices import LIFECYCLE_TRANSITIONS, Lifecycle
from apis.models import Api, ApiVersion, Plan, Subscription
from apis.services import catalogue, plans
from apis.services.openapi_operations import derive_operations
from portal.services import acting_as
from registry.models import Service


def _changed(change: Change) -> dict[str, Any]:
    return {field.name: field.after for field in change.fields}


def _refuse_if_subscribed(subscriptions: models.QuerySet[Subscription], what: str) -> None:
    # Subscriptions are developer data that a catalogue file cannot recreate.
    count = subscriptions.count()
    if count:
        raise ValidationError(
            f"{count} subscription(s) use this {what}; it cannot be deleted from a file"
        )


def create_api(change: Change, actor: Any) -> None:
    after = change.after
    assert after is not None
    catalogue.create_api(
        actor=actor, slug=after["slug"], name=after["name"], description=after["description"]
    )


def update_api(change: Change, actor: Any) -> None:
    catalogue.update_api(Api.objects.get(slug=change.ident[1]), actor=actor, **_changed(change))


def delete_api(change: Change, actor: Any) -> None:
    api = Api.objects.get(slug=change.ident[1])
    _refuse_if_subscribed(Subscription.objects.filter(api_version__api=api), "API")
    catalogue.delete_api(api, actor=actor)


def _plan(ident: tuple[Any, ...]) -> Plan:
    return Plan.objects.get(api__slug=ident[1], slug=ident[2])


def create_plan(change: Change, actor: Any) -> None:
    assert change.after is not None
    fields = {name: change.after[name] for name in PLAN.all_fields}
    plans.create_plan(Api.objects.get(slug=change.ident[1]), actor=actor, **fields)


def update_plan(change: Change, actor: Any) -> None:
    plans.update_plan(_plan(change.ident), actor=actor, **_changed(change))


def delete_plan(change: Change, actor: Any) -> None:
    plans.delete_plan(_plan(change.ident), actor=actor)


def _version(ident: tuple[Any, ...]) -> ApiVersion:
    return ApiVersion.objects.select_related("api", "upstream_service").get(
        api__slug=ident[1], label=ident[2]
    )


def _settings(values: dict[str, Any]) -> dict[str, Any]:
    """File values -> model values for the plain version settings (not state, document, routes)."""
    settings = {name: value for name, value in values.items() if name in catalogue.VERSION_SETTINGS}
    if "upstream_service" in settings:
        slug = settings["upstream_service"]
        settings["upstream_service"] = Service.objects.get(slug=slug) if slug else None
    return settings


def create_version(change: Change, actor: Any) -> None:
    after = change.after
    assert after is not None
    settings = _settings(
        {name: value for name, value in after.items() if name not in ("label", "base_path")}
    )
    version = catalogue.create_api_version(
        Api.objects.get(slug=change.ident[1]),
        actor=actor,
        label=after["label"],
        base_path=after["base_path"],
        source=after["openapi"] or None,
        **settings,
    )
    _apply_routes(version, after["routes"], actor)
    _move_lifecycle(version, after, actor)


def update_version(change: Change, actor: Any) -> None:
    after = change.after
    assert change.before is not None and after is not None
    version = _version(change.ident)
    settings = _settings(_changed(change))
    if settings:
        version = catalogue.update_api_version(version, actor=actor, **settings)
    if change.before["openapi"] != after["openapi"]:
        version = catalogue.import_openapi(version, after["openapi"], actor=actor)
    _apply_routes(version, after["routes"], actor)
    _move_lifecycle(version, after, actor)


def delete_version(change: Change, actor: Any) -> None:
    version = _version(change.ident)
    # Subscriptions cascade with a version; they are developer data a file cannot recreate.
    count = version.subscriptions.count()
    if count:
        raise ValidationError(
            f"{count} subscription(s) use this version; it cannot be deleted from a file"
        )
    catalogue.delete_api_version(version, actor=actor)


def _move_lifecycle(version: ApiVersion, after: dict[str, Any], actor: Any) -> None:
    """Walk the lifecycle forward to the file's state; a step back is refused."""
    target = after["state"]
    sunset = parse_file_datetime(after["sunset_at"]) if after["sunset_at"] else None
    while version.state != target:
        version = _step(version, _next_state(version.state, target), sunset, actor)
    if version.sunset_at != sunset:
        # Also for a retired version, which keeps the sunset date it was deprecated with.
        with acting_as(actor):
            version.sunset_at = sunset
            version.save(update_fields=["sunset_at", "updated_at"])


def _next_state(current: str, target: str) -> str:
    if target in LIFECYCLE_TRANSITIONS[current]:
        return target
    if current == Lifecycle.DRAFT:
        return Lifecycle.PUBLISHED  # every later state is reached through published
    raise ValidationError({"state": f"a {current} version cannot become {target}"})


def _step(version: ApiVersion, target: str, sunset: dt.datetime | None, actor: Any) -> ApiVersion:
    if target == Lifecycle.PUBLISHED:
        return catalogue.publish_version(version, actor=actor)
    if target == Lifecycle.DEPRECATED:
        return catalogue.deprecate_version(version, sunset_at=sunset, actor=actor)
    return catalogue.retire_version(version, actor=actor)


def _apply_routes(version: ApiVersion, overrides: dict[str, dict[str, Any]], actor: Any) -> None:
    """Routes come from the document; the file sets their overrides, the rest go back to what
    the document says (an override removed from the file is an override undone)."""
    document = version.openapi_document
    baselines = route_baselines(derive_operations(document) if document else [])
    for route in version.routes.all():
        key = route_key(route.method, route.path_template)
        wanted = {**baselines.get(key, {}), **overrides.get(key, {})}
        changes = {name: value for name, value in wanted.items() if getattr(route, name) != value}
        if changes:
            catalogue.update_route(route, actor=actor, **changes)
