"""Plan validation: Kong-like ordering of limits, bursts, and errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from apis.models import Application, Plan, Subscription
from apis.services.plans import create_plan, deactivate_plan, delete_plan, update_plan
from tests.apis.fixtures.catalogue import make_api, make_version

pytestmark = pytest.mark.django_db


def errors_of(alice: Any, **limits: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        create_plan(make_api(alice), actor=alice, name="Gold", slug="gold", **limits)
    assert not Plan.objects.exists()
    return caught.value.message_dict


def test_a_plan_without_limits_is_unlimited(alice) -> None:
    plan = create_plan(make_api(alice), actor=alice, name="Free", slug="free")

    assert [
        getattr(plan, name) for name in ("requests_per_second", "quota_per_month", "burst")
    ] == [None] * 3


def test_a_sensible_plan_is_stored(alice) -> None:
    plan = create_plan(
        make_api(alice),
        actor=alice,
        name="Gold",
        slug="gold",
        requests_per_second=10,
        requests_per_minute=300,
        quota_per_day=10_000,
        quota_per_month=200_000,
        burst=20,
        approval_required=True,
    )

    assert Plan.objects.get(pk=plan.pk).burst == 20


@pytest.mark.parametrize(
    ("limits", "field", "text"),
    [
        ({"requests_per_second": 10, "burst": 5}, "burst", "at least requests_per_second (10)"),
        ({"burst": 5}, "burst", "a burst needs"),
        (
            {"requests_per_second": 10, "requests_per_minute": 5},
            "requests_per_minute",
            "requests_per_second (10)",
        ),
        (
            {"requests_per_minute": 100, "quota_per_day": 50},
            "quota_per_day",
            "requests_per_minute (100)",
        ),
        (
            {"quota_per_day": 1000, "quota_per_month": 999},
            "quota_per_month",
            "quota_per_day (1000)",
        ),
        ({"requests_per_second": 0}, "requests_per_second", "at least 1"),
        ({"requests_per_minute": -1}, "requests_per_minute", "greater than or equal to 0"),
    ],
)
def test_it_names_the_field_that_breaks_a_rule(
    alice, limits: dict[str, int], field: str, text: str
) -> None:
    errors = errors_of(alice, **limits)

    assert field in errors
    assert text in " ".join(errors[field])


def test_updates_are_checked_like_creation(alice) -> None:
    plan = create_plan(
        make_api(alice), actor=alice, name="Gold", slug="gold", requests_per_second=10, burst=10
    )

    with pytest.raises(ValidationError) as caught:
        update_plan(plan, actor=alice, requests_per_second=50)

    assert "burst" in caught.value.message_dict
    assert Plan.objects.get(pk=plan.pk).requests_per_second == 10


def test_a_slug_is_unique_per_api(alice) -> None:
    api = make_api(alice)
    create_plan(api, actor=alice, name="Gold", slug="gold")

    with pytest.raises(ValidationError):
        create_plan(api, actor=alice, name="Gold again", slug="gold")


def test_deactivating_and_deleting_a_plan(alice) -> None:
    plan = create_plan(make_api(alice), actor=alice, name="Old", slug="old")

    assert deactivate_plan(plan, actor=alice).is_active is False
    delete_plan(plan, actor=alice)
    assert not Plan.objects.exists()


def test_a_plan_with_subscriptions_cannot_be_deleted(alice, bob) -> None:
    version = make_version(alice)
    plan = create_plan(version.api, actor=alice, name="Used", slug="used")
    application = Application.objects.create(owner=bob, name="bobs-app")
    Subscription.objects.create(application=application, api_version=version, plan=plan)

    with pytest.raises(ValidationError) as caught:
        delete_plan(plan, actor=alice)

    assert "subscriptions" in caught.value.message_dict
    assert Plan.objects.filter(pk=plan.pk).exists()
