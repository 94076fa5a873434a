"""Plans: the rate limits and quotas a subscription buys.

Rules follow Kong's rate-limiting plugin: a limit over a longer window may not be
lower than one over a shorter window (second <= minute <= day <= month), since the
shorter one could then never be reached; and a burst below the per-second rate
would cap the rate itself. A plan without any limit is unlimited, which is allowed.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from apis.models import Api, Plan
from portal.services import acting_as

LIMITS = ("requests_per_second", "requests_per_minute", "quota_per_day", "quota_per_month")
PLAN_FIELDS = (
    "name",
    "slug",
    "description",
    *LIMITS,
    "burst",
    "approval_required",
    "redis_down_policy",
    "is_active",
)


def create_plan(api: Api, *, actor: Any, name: str, slug: str, **settings: Any) -> Plan:
    """A plan of `api`; limits left out (or None) mean no limit on that window."""
    plan = Plan(api=api, name=name, slug=slug)
    return _save(plan, settings, actor=actor)


def update_plan(plan: Plan, *, actor: Any, **changes: Any) -> Plan:
    return _save(plan, changes, actor=actor)


def deactivate_plan(plan: Plan, *, actor: Any) -> Plan:
    """No new subscriptions; existing ones keep their limits."""
    return _save(plan, {"is_active": False}, actor=actor)


def delete_plan(plan: Plan, *, actor: Any) -> None:
    if plan.subscriptions.exists():
        raise ValidationError(
            {"subscriptions": "the plan has subscriptions; deactivate it instead"}
        )
    with acting_as(actor):
        plan.delete()


def check_limits(plan: Plan) -> None:
    """Raise one ValidationError naming every field that breaks a rule."""
    errors: dict[str, str] = {}
    for name in (*LIMITS, "burst"):
        if getattr(plan, name) == 0:
            errors[name] = "must be at least 1; leave it empty for no limit"
    set_limits = [(name, getattr(plan, name)) for name in LIMITS if getattr(plan, name)]
    for (shorter, low), (longer, high) in zip(set_limits, set_limits[1:], strict=False):
        if high < low:
            errors.setdefault(longer, f"must not be lower than {shorter} ({low})")
    if plan.burst:
        errors.update(_burst_errors(plan))
    if errors:
        raise ValidationError(errors)


def _burst_errors(plan: Plan) -> dict[str, str]:
    burst, per_second = plan.burst or 0, plan.requests_per_second or 0
    if not (per_second or plan.requests_per_minute):
        return {"burst": "a burst needs requests_per_second or requests_per_minute"}
    if burst < per_second:
        return {"burst": f"must be at least requests_per_second ({per_second})"}
    return {}


def _save(plan: Plan, changes: dict[str, Any], *, actor: Any) -> Plan:
    unknown = sorted(set(changes) - set(PLAN_FIELDS))
    if unknown:
        raise ValidationError({name: "this field cannot be set on a plan" for name in unknown})
    for name, value in changes.items():
        setattr(plan, name, value)
    taken = Plan.objects.filter(api_id=plan.api_id, slug=plan.slug).exclude(pk=plan.pk)
    if taken.exists():  # full_clean() would file this under "__all__"
        raise ValidationError({"slug": f"the API already has a plan {plan.slug!r}"})
    plan.full_clean()
    check_limits(plan)
    with acting_as(actor):
        plan.save()
    return plan
