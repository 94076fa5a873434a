"""Ownership: a developer reaches only their own applications and what hangs off them.

Someone else's object is a 404, never a 403, so ids reveal nothing.
"""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from apis.models import ApiKey, Application, OAuthClient, Subscription
from portal.models import User


def developer(request: HttpRequest) -> User:
    """The logged-in user of a `login_required` view."""
    return cast(User, request.user)


def own_application(request: HttpRequest, app_id: int) -> Application:
    return get_object_or_404(Application, pk=app_id, owner=request.user)


def own_key(request: HttpRequest, app_id: int, key_id: int) -> ApiKey:
    return get_object_or_404(
        ApiKey.objects.select_related("application"),
        pk=key_id,
        application_id=app_id,
        application__owner=request.user,
    )


def own_subscription(request: HttpRequest, app_id: int, subscription_id: int) -> Subscription:
    return get_object_or_404(
        Subscription, pk=subscription_id, application_id=app_id, application__owner=request.user
    )


def own_oauth_client(request: HttpRequest, app_id: int, client_id: int) -> OAuthClient:
    return get_object_or_404(
        OAuthClient.objects.select_related("client"),
        pk=client_id,
        application_id=app_id,
        application__owner=request.user,
    )
