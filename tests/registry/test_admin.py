from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from django.test import Client

from registry.choices import Health
from registry.models import Instance, Service
from registry.services.instances import register_instance

pytestmark = pytest.mark.django_db


@pytest.fixture
def node(payments: Service, oscar) -> Instance:  # type: ignore[no-untyped-def]
    return register_instance(payments, actor=oscar, host="10.3.0.1", port=80)


def _logged_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_a_staff_developer_cannot_open_the_registry_admin(carol, node: Instance) -> None:
    carol.is_staff = True
    carol.save()
    client = _logged_in(carol)
    assert client.get("/admin/registry/service/").status_code == 403
    assert client.get(f"/admin/registry/instance/{node.pk}/change/").status_code == 403
    assert b"registry" not in client.get("/admin/").content.lower()


@pytest.mark.parametrize("persona", ["oscar", "alice"])
def test_operators_and_admins_use_the_registry_admin(request, persona: str, node: Instance) -> None:
    client = _logged_in(request.getfixturevalue(persona))
    assert client.get("/admin/registry/service/").status_code == 200
    page = client.get(f"/admin/registry/service/{node.service_id}/change/")
    assert page.status_code == 200 and b"10.3.0.1" in page.content
    assert b"registration_token_hash" not in page.content


def test_the_drain_and_undrain_actions_go_through_the_services(oscar, node: Instance) -> None:
    client = _logged_in(oscar)
    url = "/admin/registry/instance/"
    response = client.post(url, {"action": "drain", "_selected_action": [node.pk]})
    assert response.status_code == 302
    node.refresh_from_db()
    assert (node.state, node.state_reason) == ("draining", "drained by oscar")
    entry = LogEntry.objects.get_for_object(node).filter(changes__has_key="draining").first()
    assert entry is not None and entry.actor == oscar
    client.post(url, {"action": "undrain", "_selected_action": [node.pk]})
    node.refresh_from_db()
    assert node.state == "unknown"


def test_editing_an_instance_in_the_admin_keeps_its_health(oscar, node: Instance) -> None:
    Instance.objects.filter(pk=node.pk).update(health=Health.HEALTHY, state_reason="probe ok")
    form = {
        "service": node.service_id,
        "host": "10.3.0.1",
        "port": 80,
        "scheme": "http",
        "weight": 7,
        "zone": "",
        "tags": "[]",
        "metadata": "{}",
    }
    response = _logged_in(oscar).post(f"/admin/registry/instance/{node.pk}/change/", form)
    assert response.status_code == 302, response.content[:2000]
    node.refresh_from_db()
    assert (node.weight, node.health, node.state_reason) == (7, Health.HEALTHY, "probe ok")


def test_an_operator_adds_a_service_with_an_instance_in_the_admin(oscar) -> None:
    form = {
        "name": "Search",
        "slug": "search",
        "description": "",
        "owner": "",
        "check_type": "http",
        "check_method": "GET",
        "check_path": "/health",
        "check_expected_statuses": "200-399",
        "check_body_contains": "",
        "check_headers": "{}",
        "check_tls_verify": "on",
        "check_interval_seconds": "10",
        "check_timeout_seconds": "2",
        "healthy_threshold": "2",
        "unhealthy_threshold": "3",
        "heartbeat_ttl_seconds": "30",
        "deregister_after_seconds": "600",
        "lb_algorithm": "least_request",
        "hash_on": "none",
        "hash_key": "",
        "max_in_flight": "",
        "instances-TOTAL_FORMS": "1",
        "instances-INITIAL_FORMS": "0",
        "instances-MIN_NUM_FORMS": "0",
        "instances-MAX_NUM_FORMS": "1000",
        "instances-0-host": "10.3.0.9",
        "instances-0-port": "8080",
        "instances-0-scheme": "http",
        "instances-0-weight": "100",
        "instances-0-zone": "",
    }
    response = _logged_in(oscar).post("/admin/registry/service/add/", form)
    assert response.status_code == 302, response.content[:3000]
    service = Service.objects.get(slug="search")
    assert service.owner == oscar
    assert [str(i) for i in service.instances.all()] == ["http://10.3.0.9:8080"]
    created = LogEntry.objects.get_for_object(service.instances.get()).get()
    assert created.actor == oscar
