"""Plans of an API and the subscription approvals queue."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apis.models import ApiVersion, Plan, Subscription
from apis.services.applications import create_application
from apis.services.catalogue import publish_version
from apis.services.plans import create_plan
from apis.services.subscriptions import subscribe

pytestmark = pytest.mark.django_db

PLAN = {"name": "Gold", "slug": "gold", "redis_down_policy": "local", "is_active": "on"}


@pytest.fixture
def gated(alice: Any, petstore: ApiVersion) -> Plan:
    publish_version(petstore, actor=alice)
    return create_plan(
        petstore.api, actor=alice, name="Partner", slug="partner", approval_required=True
    )


def test_an_admin_creates_a_plan(as_alice: Client, petstore: ApiVersion) -> None:
    url = reverse("console:plan_create", args=["petstore"])
    response = as_alice.post(url, {**PLAN, "requests_per_second": 5, "burst": 10})
    assert response.status_code == 302
    plan = Plan.objects.get(api=petstore.api, slug="gold")
    assert (plan.requests_per_second, plan.burst, plan.is_active) == (5, 10, True)
    detail = as_alice.get(reverse("console:api_detail", args=["petstore"]))
    assert "Gold" in detail.text


def test_limits_that_contradict_each_other_are_named(
    as_alice: Client, petstore: ApiVersion
) -> None:
    url = reverse("console:plan_create", args=["petstore"])
    data = {**PLAN, "requests_per_second": 10, "requests_per_minute": 5, "burst": 2}
    response = as_alice.post(url, data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "must not be lower than requests_per_second" in " ".join(errors["requests_per_minute"])
    assert "burst" in errors
    assert not Plan.objects.filter(slug="gold").exists()


def test_an_admin_edits_a_plan(alice: Any, as_alice: Client, petstore: ApiVersion) -> None:
    plan = create_plan(petstore.api, actor=alice, name="Free", slug="free")
    url = reverse("console:plan_edit", args=[plan.pk])
    assert as_alice.get(url).status_code == 200
    response = as_alice.post(
        url, {**PLAN, "name": "Free tier", "slug": "free", "quota_per_day": 100}
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert (plan.name, plan.quota_per_day) == ("Free tier", 100)


def test_pending_requests_are_approved_or_rejected(
    bob: Any, carol: Any, as_alice: Client, gated: Plan, petstore: ApiVersion
) -> None:
    first = subscribe(
        create_application(bob, actor=bob, name="Shop"), actor=bob, api_version=petstore, plan=gated
    )
    second = subscribe(
        create_application(carol, actor=carol, name="Mall"),
        actor=carol,
        api_version=petstore,
        plan=gated,
    )
    queue = as_alice.get(reverse("console:approvals"))
    assert "Shop" in queue.text and "Mall" in queue.text and "bob@example.test" in queue.text

    as_alice.post(reverse("console:subscription_decide", args=[first.pk, "approve"]))
    rejected = as_alice.post(
        reverse("console:subscription_decide", args=[second.pk, "reject"]), follow=True
    )
    assert "Mall → petstore v1: rejected." in rejected.text
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.decided_by.username) == ("approved", "alice")
    assert second.status == "rejected"
    assert "No pending subscriptions" in as_alice.get(reverse("console:approvals")).text
    approved = as_alice.get(reverse("console:approvals"), {"status": "approved"})
    assert "Shop" in approved.text and "Mall" not in approved.text


def test_deciding_twice_explains_the_state(
    bob: Any, as_alice: Client, gated: Plan, petstore: ApiVersion
) -> None:
    sub = subscribe(
        create_application(bob, actor=bob, name="Shop"), actor=bob, api_version=petstore, plan=gated
    )
    as_alice.post(reverse("console:subscription_decide", args=[sub.pk, "reject"]))
    response = as_alice.post(
        reverse("console:subscription_decide", args=[sub.pk, "approve"]), follow=True
    )
    assert "the subscription is rejected" in response.text
    assert Subscription.objects.get(pk=sub.pk).status == "rejected"
