from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from registry.models import Service
from registry.services.tokens import service_for_token

pytestmark = pytest.mark.django_db

SERVICES = "/api/v1/services/"


def test_developers_cannot_see_the_registry(client_for, bob, payments: Service) -> None:
    client = client_for(bob)
    assert client.get(SERVICES).status_code == 403
    assert client.get(f"{SERVICES}payments/").status_code == 403
    assert client.post(SERVICES, {"name": "X", "slug": "x"}, format="json").status_code == 403
    assert client.patch(f"{SERVICES}payments/", {"name": "Y"}, format="json").status_code == 403
    assert client.delete(f"{SERVICES}payments/").status_code == 403
    assert client.post(f"{SERVICES}payments/registration-token/").status_code == 403
    assert Service.objects.get().name == "Payments"


def test_anonymous_callers_are_refused(payments: Service) -> None:
    assert APIClient().get(SERVICES).status_code == 403
    assert APIClient().post(f"{SERVICES}payments/registration-token/").status_code == 403


@pytest.mark.parametrize("persona", ["oscar", "alice"])
def test_operators_and_admins_manage_services(request, client_for, persona: str) -> None:
    client = client_for(request.getfixturevalue(persona))
    created = client.post(
        SERVICES, {"name": "Orders", "slug": "orders", "check_path": "/ready"}, format="json"
    )
    assert created.status_code == 201, created.data
    assert created.data["owner"] == persona and created.data["has_registration_token"] is False
    assert created.data["instance_count"] == 0
    assert client.get(SERVICES).data["results"][0]["slug"] == "orders"
    changed = client.patch(f"{SERVICES}orders/", {"heartbeat_ttl_seconds": 15}, format="json")
    assert changed.status_code == 200 and changed.data["heartbeat_ttl_seconds"] == 15
    assert client.delete(f"{SERVICES}orders/").status_code == 204
    assert not Service.objects.exists()


def test_it_answers_400_naming_each_bad_field(client_for, oscar) -> None:
    client = client_for(oscar)
    bad_spec = client.post(
        SERVICES, {"name": "A", "slug": "a", "check_expected_statuses": "2xx"}, format="json"
    )
    assert bad_spec.status_code == 400 and "check_expected_statuses" in bad_spec.data
    slow = {"name": "A", "slug": "a", "check_interval_seconds": 2, "check_timeout_seconds": 3}
    bad_timeout = client.post(SERVICES, slow, format="json")
    assert bad_timeout.status_code == 400 and "check_timeout_seconds" in bad_timeout.data
    bad_headers = client.post(
        SERVICES, {"name": "A", "slug": "a", "check_headers": ["x"]}, format="json"
    )
    assert bad_headers.status_code == 400 and "check_headers" in bad_headers.data
    assert not Service.objects.exists()


def test_a_taken_slug_is_a_400_naming_the_slug(client_for, oscar, payments: Service) -> None:
    response = client_for(oscar).post(
        SERVICES, {"name": "Again", "slug": "payments"}, format="json"
    )
    assert response.status_code == 400 and "slug" in response.data


def test_a_bad_patch_changes_nothing(client_for, oscar, payments: Service) -> None:
    response = client_for(oscar).patch(
        f"{SERVICES}payments/", {"name": "Renamed", "check_timeout_seconds": 60}, format="json"
    )
    assert response.status_code == 400 and "check_timeout_seconds" in response.data
    payments.refresh_from_db()
    assert payments.name == "Payments"


def test_the_registration_token_is_shown_once_and_works(
    client_for, oscar, payments: Service
) -> None:
    response = client_for(oscar).post(f"{SERVICES}payments/registration-token/")
    assert response.status_code == 201 and response["Cache-Control"] == "no-store"
    token = response.data["token"]
    assert token.startswith(f"mgs_{response.data['prefix']}_")
    assert service_for_token(token) == payments
    shown = client_for(oscar).get(f"{SERVICES}payments/")
    assert shown.data["has_registration_token"] is True
    assert token not in str(shown.content) and "registration_token_hash" not in shown.data


def test_deleting_a_service_in_use_is_a_conflict(client_for, oscar, payments: Service) -> None:
    from apis.models import Api, ApiVersion

    api = Api.objects.create(name="Pay", slug="pay")
    ApiVersion.objects.create(api=api, label="v1", base_path="/pay/v1", upstream_service=payments)
    response = client_for(oscar).delete(f"{SERVICES}payments/")
    assert response.status_code == 409 and "pay v1" in response.data["detail"]
