"""Push the state of instances changed through model saves to the gateways (contracts §1).

The checker publishes its own changes (it writes with bulk UPDATEs, which send no
signals). Everything else that moves an instance's state saves the model: drain and
undrain, the heartbeat TTL (unhealthy, then removal), a heartbeat that revives, an address
change (back to unknown), the admin. One signal pair covers them all, after the commit,
so a gateway never sees a state the database rolled back.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_init, post_save

from registry.health.propagate import REMOVED, StateUpdate, publish_quietly
from registry.models import Instance

_SEEN = "_meshgate_health_state"


def connect() -> None:
    post_init.connect(_remember, sender=Instance, dispatch_uid="meshgate-health-init")
    post_save.connect(_on_saved, sender=Instance, dispatch_uid="meshgate-health-save")
    post_delete.connect(_on_deleted, sender=Instance, dispatch_uid="meshgate-health-delete")


def _state_of(instance: Instance) -> str | None:
    # __dict__, not attributes: a deferred field would cost a query per loaded row.
    values = instance.__dict__
    if "draining" not in values or "health" not in values:
        return None
    return "draining" if values["draining"] else str(values["health"])


def _remember(sender: type[Instance], instance: Instance, **kwargs: Any) -> None:
    instance.__dict__[_SEEN] = _state_of(instance)


def _on_saved(
    sender: type[Instance], instance: Instance, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if raw:
        return
    state = _state_of(instance)
    before = instance.__dict__.get(_SEEN)
    instance.__dict__[_SEEN] = state
    if state is None or (state == before and not created):
        return
    _after_commit(update_for(instance, state))


def _on_deleted(sender: type[Instance], instance: Instance, **kwargs: Any) -> None:
    removed = update_for(instance, REMOVED, reason="removed from the registry")
    _after_commit(dataclasses.replace(removed, since=time.time()))


def update_for(instance: Instance, state: str, reason: str | None = None) -> StateUpdate:
    """The update message for an instance in `state` now."""
    return StateUpdate(
        instance=int(instance.pk),
        upstream=_service_slug(instance),
        state=state,
        reason=instance.state_reason if reason is None else reason,
        since=instance.state_changed_at.timestamp(),
    )


def _service_slug(instance: Instance) -> str:
    cached = instance._state.fields_cache.get("service")
    if cached is not None:
        return str(cached.slug)
    from registry.models import Service

    slug = Service.objects.filter(pk=instance.service_id).values_list("slug", flat=True).first()
    return slug or ""


def _after_commit(update: StateUpdate) -> None:
    transaction.on_commit(functools.partial(publish_quietly, [update]))
