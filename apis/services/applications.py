"""Applications: a developer's client programs, holding subscriptions, keys and OAuth2 clients."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from apis.models import Application
from portal.services import acting_as

APPLICATION_FIELDS = ("name", "description")


def create_application(owner: Any, *, actor: Any, name: str, description: str = "") -> Application:
    """A new application owned by `owner`; names are unique per owner."""
    application = Application(owner=owner, name=name, description=description)
    return _save(application, actor=actor)


def update_application(application: Application, *, actor: Any, **changes: Any) -> Application:
    unknown = sorted(set(changes) - set(APPLICATION_FIELDS))
    if unknown:
        raise ValidationError(
            {name: "this field cannot be changed on an application" for name in unknown}
        )
    for name, value in changes.items():
        setattr(application, name, value)
    return _save(application, actor=actor)


def delete_application(application: Application, *, actor: Any) -> None:
    """Delete the application with its subscriptions and keys.

    Its OAuth2 clients go too, and with them every token they hold: the signal on
    OAuthClient deletes the DOT application, whose tokens are then revoked.
    """
    with acting_as(actor):
        application.delete()


def _save(application: Application, *, actor: Any) -> Application:
    # Django reports the two-field unique constraint without a field; name it.
    application.full_clean(validate_constraints=False)
    taken = Application.objects.filter(owner=application.owner, name=application.name)
    if taken.exclude(pk=application.pk).exists():
        raise ValidationError({"name": "you already have an application with this name"})
    with acting_as(actor):
        application.save()
    return application
