from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from registry.models import Instance
from registry.services.instances import drain_instance, register_instance, update_instance
from registry.services.self_registration import register_self
from registry.services.services import create_service, update_service

pytestmark = pytest.mark.django_db

AUDIT = "/api/v1/audit-log/"


@pytest.fixture
def history(oscar, alice):  # type: ignore[no-untyped-def]
    """A service and an instance changed by two people at known times."""
    start = timezone.now().replace(microsecond=0) - timedelta(days=2)
    with time_machine.travel(start, tick=False):
        service = create_service(actor=oscar, name="Payments", slug="payments")
        instance = register_instance(service, actor=oscar, host="10.4.0.1", port=80)
    with time_machine.travel(start + timedelta(days=1), tick=False):
        update_instance(instance, actor=alice, weight=25)
        update_service(service, actor=alice, name="Payments EU")
    return {"start": start, "service": service, "instance": instance}


@pytest.mark.parametrize("persona", ["oscar", "bob", "carol"])
def test_only_admins_read_the_audit_log(request, client_for, persona: str, history) -> None:
    assert client_for(request.getfixturevalue(persona)).get(AUDIT).status_code == 403
    assert APIClient().get(AUDIT).status_code == 403


def test_entries_carry_actor_action_object_and_before_after(client_for, alice, history) -> None:
    response = client_for(alice).get(
        AUDIT, {"object_type": "registry.instance", "action": "update"}
    )
    assert response.status_code == 200
    [entry] = response.data["results"]
    assert entry["actor"] == "alice" and entry["action"] == "update"
    assert entry["object_type"] == "registry.instance"
    assert entry["object_id"] == str(history["instance"].pk)
    assert entry["object_repr"] == "http://10.4.0.1:80"
    assert entry["changes"]["weight"] == {"before": "100", "after": "25"}
    assert entry["timestamp"]


def test_it_filters_by_actor_action_type_and_dates(client_for, alice, history) -> None:
    client = client_for(alice)
    by_oscar = client.get(AUDIT, {"actor": "oscar"}).data["results"]
    assert {(e["object_type"], e["action"]) for e in by_oscar} == {
        ("registry.service", "create"),
        ("registry.instance", "create"),
    }
    day_two = history["start"] + timedelta(days=1)
    window = client.get(
        AUDIT, {"since": day_two.isoformat(), "until": (day_two + timedelta(hours=1)).isoformat()}
    )
    assert {e["actor"] for e in window.data["results"]} == {"alice"}
    renamed = client.get(AUDIT, {"object_type": "registry.service", "actor": "alice"}).data[
        "results"
    ]
    assert renamed[0]["changes"]["name"] == {"before": "Payments", "after": "Payments EU"}
    assert client.get(AUDIT, {"action": "rename"}).status_code == 400


def test_newest_entries_come_first_and_pages_hold_fifty(client_for, alice, oscar, history) -> None:
    for weight in range(1, 60):
        update_instance(history["instance"], actor=oscar, weight=weight)
    first = client_for(alice).get(AUDIT).data
    assert first["count"] == 4 + 59 and len(first["results"]) == 50 and first["next"]
    assert first["results"][0]["changes"]["weight"] == {"before": "58", "after": "59"}
    assert len(client_for(alice).get(first["next"]).data["results"]) == 13


def test_deletes_and_drains_are_logged_with_their_actor(client_for, alice, oscar, history) -> None:
    drain_instance(history["instance"], actor=oscar, reason="maintenance")
    history["instance"].delete()  # an untracked write still shows up, with no actor
    entries = client_for(alice).get(AUDIT, {"object_type": "registry.instance"}).data["results"]
    assert entries[0]["action"] == "delete" and entries[0]["actor"] is None
    assert entries[1]["actor"] == "oscar" and entries[1]["changes"]["draining"] == {
        "before": "False",
        "after": "True",
    }


def test_self_registration_is_attributed_to_the_service(client_for, alice, history) -> None:
    register_self(history["service"], host="10.4.0.2", port=80, now=timezone.now())
    entry = client_for(alice).get(AUDIT, {"actor": "service:payments"}).data["results"][0]
    assert entry["action"] == "create" and entry["object_repr"] == "http://10.4.0.2:80"
    assert Instance.objects.count() == 2
