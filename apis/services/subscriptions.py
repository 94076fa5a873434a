"""Subscriptions: an application's access to one API version under one plan.

pending --approve--> approved; pending --reject--> rejected; pending/approved --revoke--> revoked.
Rejected and revoked are final; subscribing again makes a new subscription.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from apis.choices import Lifecycle, SubscriptionStatus
from apis.models import ApiVersion, Application, Plan, Subscription
from portal.services import acting_as

OPEN_STATUSES = (SubscriptionStatus.PENDING, SubscriptionStatus.APPROVED)


def subscribe(
    application: Application, *, actor: Any, api_version: ApiVersion, plan: Plan
) -> Subscription:
    """Subscribe to a published version; approved at once unless the plan requires approval."""
    _check_subscribable(api_version, plan)
    status = SubscriptionStatus.PENDING if plan.approval_required else SubscriptionStatus.APPROVED
    subscription = Subscription(
        application=application, api_version=api_version, plan=plan, status=status
    )
    if status == SubscriptionStatus.APPROVED:
        subscription.decided_at = timezone.now()
    with acting_as(actor):
        # Locking the application serialises two concurrent subscribes of it, so the
        # check below sees the other's row; the partial unique index is the backstop.
        Application.objects.select_for_update().filter(pk=application.pk).first()
        _check_no_open_subscription(application, api_version)
        subscription.full_clean(validate_constraints=False)
        subscription.save()
    return subscription


def approve_subscription(subscription: Subscription, *, actor: Any) -> Subscription:
    return _decide(
        subscription,
        SubscriptionStatus.APPROVED,
        actor=actor,
        allowed_from=(SubscriptionStatus.PENDING,),
    )


def reject_subscription(subscription: Subscription, *, actor: Any) -> Subscription:
    return _decide(
        subscription,
        SubscriptionStatus.REJECTED,
        actor=actor,
        allowed_from=(SubscriptionStatus.PENDING,),
    )


def revoke_subscription(subscription: Subscription, *, actor: Any) -> Subscription:
    """End access now; the gateway stops honouring it with the next snapshot."""
    return _decide(
        subscription, SubscriptionStatus.REVOKED, actor=actor, allowed_from=OPEN_STATUSES
    )


def _decide(
    subscription: Subscription, status: str, *, actor: Any, allowed_from: tuple[str, ...]
) -> Subscription:
    with acting_as(actor):
        subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
        if subscription.status not in allowed_from:
            raise ValidationError(
                {"status": _transition_error(subscription.status, status, allowed_from)}
            )
        subscription.status = status
        subscription.decided_at = timezone.now()
        subscription.decided_by = actor if getattr(actor, "pk", None) else None
        subscription.save(update_fields=["status", "decided_at", "decided_by"])
    return subscription


def _transition_error(current: str, target: str, allowed_from: tuple[str, ...]) -> str:
    allowed = " or ".join(allowed_from)
    return f"the subscription is {current}; only a {allowed} subscription can become {target}"


def _check_subscribable(api_version: ApiVersion, plan: Plan) -> None:
    if api_version.state != Lifecycle.PUBLISHED:
        raise ValidationError(
            {
                "api_version": f"the version is {api_version.state}; "
                "only published versions take new subscriptions"
            }
        )
    if plan.api_id != api_version.api_id:
        raise ValidationError({"plan": "the plan belongs to another API"})
    if not plan.is_active:
        raise ValidationError({"plan": "the plan is no longer offered"})


def _check_no_open_subscription(application: Application, api_version: ApiVersion) -> None:
    if Subscription.objects.filter(
        application=application, api_version=api_version, status__in=OPEN_STATUSES
    ).exists():
        raise ValidationError(
            {
                "api_version": "the application already has a pending or approved "
                "subscription to this version"
            }
        )
