"""Applications and subscriptions through the developer pages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from apis.choices import SubscriptionStatus
from apis.models import Application, Subscription
from apis.services.subscriptions import subscribe
from tests.portal.web.conftest import csrf_post

if TYPE_CHECKING:
    from tests.apis.consumer_fixtures import Catalogue

pytest_plugins = ["tests.apis.consumer_fixtures"]
pytestmark = pytest.mark.django_db


def test_pages_need_a_login(web_client: Any) -> None:
    response = web_client().get("/apps/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/apps/"


def test_it_creates_an_application_and_opens_it(web_client: Any, bob: Any) -> None:
    client = web_client(bob)
    response = csrf_post(client, "/apps/new/", {"name": "  mobile  ", "description": "iOS"})
    app = Application.objects.get(owner=bob)
    assert response.status_code == 302 and response["Location"] == f"/apps/{app.pk}/"
    assert app.name == "mobile"
    page = client.get(f"/apps/{app.pk}/").content.decode()
    assert "Application “mobile” created" in page and "No API key yet" in page


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "This field is required"),
        ("   ", "This field is required"),
        ("bob-app", "you already have an application with this name"),
    ],
)
def test_application_form_errors_are_shown_on_the_field(
    web_client: Any, bob: Any, bobs_app: Any, name: str, message: str
) -> None:
    response = csrf_post(web_client(bob), "/apps/new/", {"name": name})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Application.objects.filter(owner=bob).count() == 1


def test_the_list_shows_my_applications_with_counts(
    web_client: Any, bob: Any, carol: Any, bobs_app: Any
) -> None:
    from apis.services.applications import create_application

    create_application(carol, actor=carol, name="carol-app")
    page = web_client(bob).get("/apps/").content.decode()
    assert "bob-app" in page and "carol-app" not in page


def test_edit_and_delete(web_client: Any, bob: Any, bobs_app: Any) -> None:
    client = web_client(bob)
    csrf_post(client, f"/apps/{bobs_app.pk}/edit/", {"name": "renamed", "description": ""})
    bobs_app.refresh_from_db()
    assert bobs_app.name == "renamed"
    assert "cannot be undone" in client.get(f"/apps/{bobs_app.pk}/delete/").content.decode()
    response = csrf_post(client, f"/apps/{bobs_app.pk}/delete/")
    assert response.status_code == 302 and not Application.objects.filter(pk=bobs_app.pk).exists()


def _subscribe(client: Any, catalogue: Catalogue, app: Any, plan: Any) -> Any:
    data = {"application": app.pk, "version": catalogue.version.pk, "plan": plan.pk}
    return csrf_post(client, "/catalogue/stock/subscribe/", data)


def test_an_instant_plan_approves_at_once(
    web_client: Any, bob: Any, bobs_app: Any, catalogue: Catalogue
) -> None:
    client = web_client(bob)
    response = _subscribe(client, catalogue, bobs_app, catalogue.open_plan)
    assert response.status_code == 302 and response["Location"] == f"/apps/{bobs_app.pk}/"
    assert Subscription.objects.get(application=bobs_app).status == SubscriptionStatus.APPROVED
    assert (
        "Subscribed to Stock v1 on the Open plan"
        in client.get(response["Location"]).content.decode()
    )


def test_a_gated_plan_leaves_the_subscription_pending(
    web_client: Any, bob: Any, bobs_app: Any, catalogue: Catalogue
) -> None:
    client = web_client(bob)
    response = _subscribe(client, catalogue, bobs_app, catalogue.gated_plan)
    assert Subscription.objects.get(application=bobs_app).status == SubscriptionStatus.PENDING
    page = client.get(response["Location"]).content.decode()
    assert "must approve it first" in page and "Pending approval" in page


def test_subscribing_twice_says_why(
    web_client: Any, bob: Any, bobs_app: Any, catalogue: Catalogue
) -> None:
    client = web_client(bob)
    _subscribe(client, catalogue, bobs_app, catalogue.open_plan)
    response = _subscribe(client, catalogue, bobs_app, catalogue.open_plan)
    assert response.status_code == 400
    assert "already has a pending or approved subscription" in response.content.decode()


def test_a_plan_of_another_api_or_a_draft_version_is_not_a_valid_choice(
    web_client: Any, bob: Any, bobs_app: Any, catalogue: Catalogue
) -> None:
    client = web_client(bob)
    response = _subscribe(client, catalogue, bobs_app, catalogue.other_plan)
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    data = {
        "application": bobs_app.pk,
        "version": catalogue.draft.pk,
        "plan": catalogue.open_plan.pk,
    }
    response = csrf_post(client, "/catalogue/stock/subscribe/", data)
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not Subscription.objects.exists()


def test_cancel_a_subscription(
    web_client: Any, bob: Any, bobs_app: Any, catalogue: Catalogue
) -> None:
    sub = subscribe(bobs_app, actor=bob, api_version=catalogue.version, plan=catalogue.open_plan)
    client = web_client(bob)
    csrf_post(client, f"/apps/{bobs_app.pk}/subscriptions/{sub.pk}/cancel/")
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.REVOKED
    again = csrf_post(client, f"/apps/{bobs_app.pk}/subscriptions/{sub.pk}/cancel/")
    assert (
        "only a pending or approved subscription can become revoked"
        in client.get(again["Location"]).content.decode()
    )
