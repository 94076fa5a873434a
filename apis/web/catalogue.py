"""Read-side queries of the public catalogue: what a developer may see and subscribe to."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from apis.choices import Lifecycle
from apis.models import Api, ApiVersion, Plan

# Deprecated versions stay visible (existing users need their reference); only
# published ones take new subscriptions.
VISIBLE_STATES = (Lifecycle.PUBLISHED, Lifecycle.DEPRECATED)


def visible_versions() -> QuerySet[ApiVersion]:
    # The document can be megabytes; only the reference page reads it.
    return (
        ApiVersion.objects.filter(state__in=VISIBLE_STATES)
        .defer("openapi_source", "openapi_document")
        .order_by("label")
    )


def visible_apis(search: str = "") -> QuerySet[Api]:
    """APIs with at least one visible version, their visible versions prefetched."""
    apis = (
        Api.objects.filter(versions__state__in=VISIBLE_STATES).distinct().order_by("name", "slug")
    )
    if search:
        apis = apis.filter(
            Q(name__icontains=search) | Q(slug__icontains=search) | Q(description__icontains=search)
        )
    return apis.prefetch_related(
        Prefetch("versions", queryset=visible_versions(), to_attr="visible")
    )


def offered_plans(api: Api) -> QuerySet[Plan]:
    return Plan.objects.filter(api=api, is_active=True).order_by("name")


def subscribable_versions(api: Api) -> QuerySet[ApiVersion]:
    return visible_versions().filter(api=api, state=Lifecycle.PUBLISHED)
