"""Subscriptions: published versions only, the plan's approval rule, one open per version."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apis.choices import SubscriptionStatus
from apis.models import Subscription
from apis.services.catalogue import deprecate_version
from apis.services.plans import deactivate_plan
from apis.services.subscriptions import (
    approve_subscription,
    reject_subscription,
    revoke_subscription,
    subscribe,
)

pytest_plugins = ["tests.apis.consumer_fixtures"]
pytestmark = pytest.mark.django_db

URL = "/api/v1/subscriptions/"


def test_a_plan_without_approval_is_approved_at_once(
    bob: Any, bobs_app: Any, catalogue: Any
) -> None:
    subscription = subscribe(
        bobs_app, actor=bob, api_version=catalogue.version, plan=catalogue.open_plan
    )
    assert subscription.status == SubscriptionStatus.APPROVED
    assert subscription.decided_at is not None


def test_an_approval_plan_waits_for_an_admin(
    alice: Any, bob: Any, bobs_app: Any, catalogue: Any
) -> None:
    subscription = subscribe(
        bobs_app, actor=bob, api_version=catalogue.version, plan=catalogue.gated_plan
    )
    assert subscription.status == SubscriptionStatus.PENDING
    approved = approve_subscription(subscription, actor=alice)
    assert approved.status == SubscriptionStatus.APPROVED and approved.decided_by == alice


def test_only_pending_subscriptions_can_be_decided(
    alice: Any, bob: Any, bobs_app: Any, catalogue: Any
) -> None:
    subscription = subscribe(
        bobs_app, actor=bob, api_version=catalogue.version, plan=catalogue.gated_plan
    )
    reject_subscription(subscription, actor=alice)
    for decide in (approve_subscription, reject_subscription, revoke_subscription):
        with pytest.raises(ValidationError) as excinfo:
            decide(subscription, actor=alice)
        assert "rejected" in excinfo.value.message_dict["status"][0]


@pytest.mark.parametrize("which", ["draft", "deprecated", "other_plan", "inactive_plan"])
def test_it_refuses_what_cannot_be_subscribed(
    which: str, alice: Any, bob: Any, bobs_app: Any, catalogue: Any
) -> None:
    version, plan, field = catalogue.version, catalogue.open_plan, "api_version"
    if which == "draft":
        version = catalogue.draft
    elif which == "deprecated":
        version = deprecate_version(
            version, sunset_at=timezone.now() + dt.timedelta(days=90), actor=alice
        )
    elif which == "other_plan":
        plan, field = catalogue.other_plan, "plan"
    else:
        plan, field = deactivate_plan(plan, actor=alice), "plan"
    with pytest.raises(ValidationError) as excinfo:
        subscribe(bobs_app, actor=bob, api_version=version, plan=plan)
    assert field in excinfo.value.message_dict
    assert not Subscription.objects.exists()


def test_one_open_subscription_per_version(
    client_for: Any, bob: Any, bobs_app: Any, catalogue: Any
) -> None:
    client = client_for(bob)
    body = {
        "application": bobs_app.pk,
        "api_version": catalogue.version.pk,
        "plan": catalogue.gated_plan.pk,
    }
    first = client.post(URL, body, format="json")
    assert first.status_code == 201 and first.data["status"] == "pending"
    again = client.post(URL, {**body, "plan": catalogue.open_plan.pk}, format="json")
    assert again.status_code == 400
    assert "already has a pending or approved subscription" in str(again.data["api_version"])
    # After a revocation the application may subscribe again.
    assert client.post(f"{URL}{first.data['id']}/revoke/").data["status"] == "revoked"
    assert (
        client.post(URL, {**body, "plan": catalogue.open_plan.pk}, format="json").status_code == 201
    )


def test_admins_approve_and_reject_over_the_api(
    client_for: Any, alice: Any, bob: Any, bobs_app: Any, catalogue: Any
) -> None:
    body = {
        "application": bobs_app.pk,
        "api_version": catalogue.version.pk,
        "plan": catalogue.gated_plan.pk,
    }
    subscription = client_for(bob).post(URL, body, format="json").data
    admin = client_for(alice)
    assert [row["id"] for row in admin.get(f"{URL}pending/").data["results"]] == [
        subscription["id"]
    ]
    approved = admin.post(f"{URL}{subscription['id']}/approve/")
    assert approved.status_code == 200 and approved.data["decided_by"] == "alice"
    assert admin.get(f"{URL}pending/").data["results"] == []
    assert admin.post(f"{URL}{subscription['id']}/reject/").status_code == 400


def test_a_developer_cannot_approve_their_own_subscription(
    client_for: Any, bob: Any, bobs_app: Any, catalogue: Any
) -> None:
    client = client_for(bob)
    body = {
        "application": bobs_app.pk,
        "api_version": catalogue.version.pk,
        "plan": catalogue.gated_plan.pk,
    }
    subscription = client.post(URL, body, format="json").data
    assert client.post(f"{URL}{subscription['id']}/approve/").status_code == 403
    assert client.post(f"{URL}{subscription['id']}/reject/").status_code == 403
    assert client.get(f"{URL}pending/").status_code == 403
    assert Subscription.objects.get().status == SubscriptionStatus.PENDING


def test_a_developer_cannot_subscribe_to_a_draft_they_cannot_see(
    client_for: Any, bob: Any, bobs_app: Any, catalogue: Any
) -> None:
    body = {
        "application": bobs_app.pk,
        "api_version": catalogue.draft.pk,
        "plan": catalogue.open_plan.pk,
    }
    response = client_for(bob).post(URL, body, format="json")
    assert response.status_code == 400 and "api_version" in response.data


def test_lists_filter_by_application_and_status(
    client_for: Any, bob: Any, bobs_app: Any, catalogue: Any
) -> None:
    subscribe(bobs_app, actor=bob, api_version=catalogue.version, plan=catalogue.gated_plan)
    client = client_for(bob)
    assert (
        len(client.get(URL, {"application": bobs_app.pk, "status": "pending"}).data["results"]) == 1
    )
    assert client.get(URL, {"status": "approved"}).data["results"] == []
    assert client.get(URL, {"status": "bogus"}).status_code == 400
