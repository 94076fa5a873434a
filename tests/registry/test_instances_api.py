from __future__ import annotations

import pytest

from registry.choices import Health
from registry.models import Instance, Service
from registry.services.instances import register_instance

pytestmark = pytest.mark.django_db

INSTANCES = "/api/v1/instances/"


@pytest.fixture
def node(payments: Service, oscar) -> Instance:  # type: ignore[no-untyped-def]
    return register_instance(payments, actor=oscar, host="10.0.0.1", port=8080, zone="eu-1")


def test_developers_get_403_on_every_instance_endpoint(client_for, bob, node: Instance) -> None:
    client = client_for(bob)
    detail = f"{INSTANCES}{node.pk}/"
    assert client.get(INSTANCES).status_code == 403
    assert client.get(detail).status_code == 403
    new = {"service": "payments", "host": "10.0.0.9", "port": 80}
    assert client.post(INSTANCES, new, format="json").status_code == 403
    assert client.patch(detail, {"weight": 1}, format="json").status_code == 403
    assert client.post(f"{detail}drain/").status_code == 403
    assert client.post(f"{detail}undrain/").status_code == 403
    assert client.delete(detail).status_code == 403
    node.refresh_from_db()
    assert (node.weight, node.draining) == (100, False)


@pytest.mark.parametrize("persona", ["oscar", "alice"])
def test_operators_and_admins_manage_instances(
    request, client_for, persona: str, payments: Service
) -> None:
    client = client_for(request.getfixturevalue(persona))
    body = {"service": "payments", "host": "10.0.0.2", "port": 9000, "weight": 50, "tags": ["blue"]}
    created = client.post(INSTANCES, body, format="json")
    assert created.status_code == 201, created.data
    assert created.data["state"] == "unknown" and created.data["self_registered"] is False
    url = f"{INSTANCES}{created.data['id']}/"
    assert client.patch(url, {"weight": 60}, format="json").data["weight"] == 60
    assert client.delete(url).status_code == 204
    assert not Instance.objects.exists()


def test_instances_expose_their_state(client_for, oscar, node: Instance) -> None:
    data = client_for(oscar).get(f"{INSTANCES}{node.pk}/").data
    for field in (
        "state",
        "health",
        "draining",
        "state_changed_at",
        "state_reason",
        "last_heartbeat_at",
    ):
        assert field in data
    assert data["service"] == "payments"
    assert client_for(oscar).get("/api/v1/services/").data["results"][0]["instance_count"] == 1


def test_health_is_not_writable_through_the_api(client_for, oscar, node: Instance) -> None:
    client_for(oscar).patch(
        f"{INSTANCES}{node.pk}/", {"health": "healthy", "draining": True}, format="json"
    )
    node.refresh_from_db()
    assert (node.health, node.draining) == (Health.UNKNOWN, False)


def test_a_port_out_of_range_is_a_400_naming_the_port(client_for, oscar, payments: Service) -> None:
    body = {"service": "payments", "host": "10.0.0.2", "port": 65536}
    response = client_for(oscar).post(INSTANCES, body, format="json")
    assert response.status_code == 400 and "port" in response.data
    assert not Instance.objects.exists()


def test_bad_tags_are_a_400_naming_tags(client_for, oscar, payments: Service) -> None:
    body = {"service": "payments", "host": "10.0.0.2", "port": 80, "tags": {"not": "a list"}}
    response = client_for(oscar).post(INSTANCES, body, format="json")
    assert response.status_code == 400 and "tags" in response.data


def test_a_duplicate_address_is_a_409_naming_it(client_for, oscar, node: Instance) -> None:
    body = {"service": "payments", "host": "10.0.0.1", "port": 8080}
    response = client_for(oscar).post(INSTANCES, body, format="json")
    assert response.status_code == 409
    assert "10.0.0.1:8080 is already an instance of service 'payments'" in response.data["detail"]
    assert Instance.objects.count() == 1


def test_moving_onto_a_taken_address_is_a_409(
    client_for, oscar, payments: Service, node: Instance
) -> None:
    other = register_instance(payments, actor=oscar, host="10.0.0.2", port=8080)
    response = client_for(oscar).patch(
        f"{INSTANCES}{other.pk}/", {"host": "10.0.0.1"}, format="json"
    )
    assert response.status_code == 409
    other.refresh_from_db()
    assert other.host == "10.0.0.2"


def test_an_instance_cannot_move_to_another_service(
    client_for, oscar, ledger: Service, node: Instance
) -> None:
    response = client_for(oscar).patch(
        f"{INSTANCES}{node.pk}/", {"service": "ledger"}, format="json"
    )
    assert response.status_code == 400 and "service" in response.data
    node.refresh_from_db()
    assert node.service.slug == "payments"


def test_an_unknown_service_is_a_400_naming_it(client_for, oscar) -> None:
    response = client_for(oscar).post(
        INSTANCES, {"service": "nope", "host": "h", "port": 80}, format="json"
    )
    assert response.status_code == 400 and "service" in response.data


def test_drain_and_undrain(client_for, oscar, node: Instance) -> None:
    client = client_for(oscar)
    Instance.objects.filter(pk=node.pk).update(health=Health.HEALTHY)
    drained = client.post(f"{INSTANCES}{node.pk}/drain/", {"reason": "deploy"}, format="json")
    assert drained.status_code == 200
    assert (drained.data["state"], drained.data["draining"], drained.data["state_reason"]) == (
        "draining",
        True,
        "deploy",
    )
    assert client.get(f"{INSTANCES}{node.pk}/").data["state"] == "draining"
    undrained = client.post(f"{INSTANCES}{node.pk}/undrain/")
    assert (undrained.data["state"], undrained.data["state_reason"]) == (
        "healthy",
        "undrained by oscar",
    )


def test_it_filters_instances_by_service_and_state(
    client_for, oscar, ledger: Service, node: Instance
) -> None:
    other = register_instance(ledger, actor=oscar, host="10.0.0.5", port=80)
    client = client_for(oscar)
    client.post(f"{INSTANCES}{other.pk}/drain/")
    by_service = client.get(INSTANCES, {"service": "payments"}).data["results"]
    assert [row["id"] for row in by_service] == [node.pk]
    draining = client.get(INSTANCES, {"state": "draining"}).data["results"]
    assert [row["id"] for row in draining] == [other.pk]
    unknown = client.get(INSTANCES, {"state": "unknown"}).data["results"]
    assert [row["id"] for row in unknown] == [node.pk]


def test_the_registry_views_build_into_the_schema_without_warnings(
    client_for, oscar, capsys
) -> None:
    from drf_spectacular.generators import SchemaGenerator

    from registry.api.urls import urlpatterns

    schema = SchemaGenerator(patterns=urlpatterns).get_schema(request=None, public=True)
    captured = capsys.readouterr()
    assert "/services/{slug}/register/" in schema["paths"]
    assert "/instances/{id}/drain/" in schema["paths"]
    assert (
        "Warning" not in captured.err + captured.out and "Error" not in captured.err + captured.out
    )
    assert client_for(oscar).get("/api/v1/schema/").status_code == 200
