"""Schedule a publish whenever a model that feeds the snapshot changes.

Instance health and key usage change all the time and reach the gateway by
other paths (small health updates, the gateway's own counters), so saves that
touch only those fields do not schedule a publish.
Bulk `QuerySet.update()`/`bulk_create()` send no signals: callers of those must
call `schedule_publish` themselves.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db.models import Model
from django.db.models.signals import post_delete, post_init, post_save

from portal.publishing.debounce import schedule_publish

WATCHED = (
    "apis.Api",
    "apis.ApiVersion",
    "apis.Route",
    "apis.Plan",
    "apis.Application",
    "apis.Subscription",
    "apis.ApiKey",
    "apis.OAuthClient",
    "apis.RevokedToken",
    "oauth2_provider.Application",
    "registry.Service",
    "registry.Instance",
)

# Fields whose changes alone do not make a new snapshot.
UNPUBLISHED_FIELDS: dict[str, frozenset[str]] = {
    "registry.Instance": frozenset(
        {
            "health",
            "state_changed_at",
            "state_reason",
            "last_heartbeat_at",
            "updated_at",
            # The health workers' latest-result columns (registry/health/recording.py).
            "last_check_at",
            "last_check_ok",
            "last_check_ms",
            "last_check_reason",
            "check_streak",
        }
    ),
    "apis.ApiKey": frozenset({"last_used_at"}),
}

_LOADED = "_meshgate_published_values"
_NOT_LOADED = object()


def connect_signals() -> None:
    for label in WATCHED:
        model = apps.get_model(label)
        post_save.connect(on_saved, sender=model, dispatch_uid=f"meshgate-publish-save-{label}")
        post_delete.connect(
            on_deleted, sender=model, dispatch_uid=f"meshgate-publish-delete-{label}"
        )
        if label in UNPUBLISHED_FIELDS:
            post_init.connect(
                remember_values, sender=model, dispatch_uid=f"meshgate-publish-init-{label}"
            )


def on_saved(
    sender: type[Model],
    instance: Model,
    created: bool,
    raw: bool = False,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    if raw:  # fixture loading: the loaded data is published by whoever loads it
        return
    if not created and _only_unpublished_changes(instance, update_fields):
        return
    schedule_publish(f"{sender._meta.label} {instance.pk} saved")


def on_deleted(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    schedule_publish(f"{sender._meta.label} {instance.pk} deleted")


def remember_values(sender: type[Model], instance: Model, **kwargs: Any) -> None:
    instance.__dict__[_LOADED] = _published_values(instance)


def _published_values(instance: Model) -> tuple[Any, ...]:
    # Read __dict__, not attributes: touching a deferred field would run a query.
    ignored = UNPUBLISHED_FIELDS[instance._meta.label]
    fields = [f.attname for f in instance._meta.concrete_fields if f.name not in ignored]
    return tuple(instance.__dict__.get(name, _NOT_LOADED) for name in fields)


def _only_unpublished_changes(instance: Model, update_fields: frozenset[str] | None) -> bool:
    ignored = UNPUBLISHED_FIELDS.get(instance._meta.label)
    if ignored is None:
        return False
    if update_fields is not None:
        return set(update_fields) <= ignored
    before, now = instance.__dict__.get(_LOADED), _published_values(instance)
    instance.__dict__[_LOADED] = now
    return before is not None and _NOT_LOADED not in before and before == now
