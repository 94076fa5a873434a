"""A service's load-balancing settings: model rules, REST API and admin."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.forms.models import model_to_dict
from django.test import Client

from registry.models import Service
from registry.services.services import create_service, update_service

pytestmark = pytest.mark.django_db

SERVICES = "/api/v1/services/"
HASH_ON_HEADER: dict[str, Any] = {
    "lb_algorithm": "consistent_hash",
    "hash_on": "header",
    "hash_key": "X-User",
}


def _errors(**fields: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as failure:
        Service(name="Orders", slug="orders", **fields).full_clean()
    return failure.value.message_dict


def test_a_new_service_uses_least_request_with_no_key_and_the_gateway_limit() -> None:
    service = Service(name="Orders", slug="orders")
    service.full_clean()
    assert (service.lb_algorithm, service.hash_on, service.hash_key) == (
        "least_request",
        "none",
        "",
    )
    assert service.max_in_flight is None


@pytest.mark.parametrize(
    "fields",
    [
        HASH_ON_HEADER,
        {"lb_algorithm": "consistent_hash", "hash_on": "cookie", "hash_key": "session_id"},
        {"lb_algorithm": "consistent_hash", "hash_on": "ip"},
        {"lb_algorithm": "round_robin", "max_in_flight": 50},
    ],
)
def test_it_accepts_each_meaningful_combination(fields: dict[str, Any]) -> None:
    Service(name="Orders", slug="orders", **fields).full_clean()


@pytest.mark.parametrize("name", ["X User", "X-User:", "(session)", "Ümlaut", "X-User\n"])
def test_it_rejects_a_header_name_that_is_not_a_token_naming_the_field(name: str) -> None:
    errors = _errors(**{**HASH_ON_HEADER, "hash_key": name})

    assert list(errors) == ["hash_key"]
    assert "is not a valid header name (an RFC 7230 token" in errors["hash_key"][0]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"lb_algorithm": "consistent_hash"}, "hash_on", "consistent_hash needs a key"),
        ({"hash_on": "ip"}, "hash_on", "only the consistent_hash algorithm uses a key"),
        ({**HASH_ON_HEADER, "hash_key": ""}, "hash_key", "name the header to hash on"),
        (
            {"lb_algorithm": "consistent_hash", "hash_on": "cookie"},
            "hash_key",
            "name the cookie to hash on",
        ),
        (
            {"lb_algorithm": "consistent_hash", "hash_on": "ip", "hash_key": "X-User"},
            "hash_key",
            "only hashing on a header or a cookie uses a name",
        ),
        ({"max_in_flight": 0}, "max_in_flight", "greater than or equal to 1"),
        ({"lb_algorithm": "random"}, "lb_algorithm", "not a valid choice"),
    ],
)
def test_it_rejects_settings_that_do_not_fit_together(
    fields: dict[str, Any], field: str, message: str
) -> None:
    errors = _errors(**fields)

    assert field in errors and message in errors[field][0], errors


def test_leaving_consistent_hash_asks_to_reset_the_key_fields(oscar: Any) -> None:
    service = create_service(actor=oscar, name="Orders", slug="orders", **HASH_ON_HEADER)

    def refused(**changes: Any) -> dict[str, list[str]]:
        with pytest.raises(ValidationError) as failure:
            update_service(Service.objects.get(), actor=oscar, **changes)
        return failure.value.message_dict

    assert list(refused(lb_algorithm="round_robin")) == ["hash_on"]
    assert list(refused(lb_algorithm="round_robin", hash_on="none")) == ["hash_key"]
    update_service(service, actor=oscar, lb_algorithm="round_robin", hash_on="none", hash_key="")
    assert Service.objects.get().lb_algorithm == "round_robin"


def test_operators_set_balancing_over_rest(client_for: Any, oscar: Any) -> None:
    client = client_for(oscar)

    created = client.post(
        SERVICES, {"name": "Orders", "slug": "orders", **HASH_ON_HEADER}, format="json"
    )
    assert created.status_code == 201, created.data
    assert {k: created.data[k] for k in HASH_ON_HEADER} == HASH_ON_HEADER
    limited = client.patch(f"{SERVICES}orders/", {"max_in_flight": 200}, format="json")
    assert limited.status_code == 200 and limited.data["max_in_flight"] == 200
    unlimited = client.patch(f"{SERVICES}orders/", {"max_in_flight": None}, format="json")
    assert unlimited.status_code == 200 and unlimited.data["max_in_flight"] is None
    shown = client.get(f"{SERVICES}orders/").data
    assert (shown["lb_algorithm"], shown["hash_key"]) == ("consistent_hash", "X-User")


def test_a_bad_header_name_over_rest_is_a_400_naming_the_field(client_for: Any, oscar: Any) -> None:
    client = client_for(oscar)
    body = {"name": "Orders", "slug": "orders", **HASH_ON_HEADER, "hash_key": "X User"}

    response = client.post(SERVICES, body, format="json")

    assert response.status_code == 400
    assert list(response.data) == ["hash_key"]
    assert "'X User' is not a valid header name" in str(response.data["hash_key"])
    assert not Service.objects.exists()


def test_rest_refuses_an_unknown_algorithm_and_a_zero_limit(client_for: Any, oscar: Any) -> None:
    client = client_for(oscar)
    create_service(actor=oscar, name="Orders", slug="orders")

    algorithm = client.patch(f"{SERVICES}orders/", {"lb_algorithm": "random"}, format="json")
    limit = client.patch(f"{SERVICES}orders/", {"max_in_flight": 0}, format="json")

    assert algorithm.status_code == 400 and "lb_algorithm" in algorithm.data
    assert limit.status_code == 400 and "max_in_flight" in limit.data
    assert Service.objects.get().lb_algorithm == "least_request"


def _admin_form(service: Service, **changes: Any) -> dict[str, Any]:
    form = {k: v for k, v in model_to_dict(service).items() if v is not None}
    form["check_headers"] = json.dumps(service.check_headers)
    form.pop("owner", None)
    form.update({"instances-TOTAL_FORMS": 0, "instances-INITIAL_FORMS": 0, **changes})
    return form


def test_the_admin_edits_balancing_and_shows_a_bad_header_name_on_its_field(oscar: Any) -> None:
    service = create_service(actor=oscar, name="Orders", slug="orders")
    client = Client()
    client.force_login(oscar)
    url = f"/admin/registry/service/{service.pk}/change/"

    bad = client.post(url, _admin_form(service, **{**HASH_ON_HEADER, "hash_key": "X User"}))
    good = client.post(url, _admin_form(service, **HASH_ON_HEADER, max_in_flight=30))

    assert bad.status_code == 200
    assert "is not a valid header name" in bad.context["adminform"].form.errors["hash_key"][0]
    assert good.status_code == 302
    service.refresh_from_db()
    assert (service.lb_algorithm, service.hash_key, service.max_in_flight) == (
        "consistent_hash",
        "X-User",
        30,
    )
