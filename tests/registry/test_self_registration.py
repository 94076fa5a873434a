from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from registry.choices import Health
from registry.models import Instance, Service
from registry.services.instances import register_instance
from registry.services.self_registration import TTL_EXPIRED
from registry.services.services import issue_registration_token

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/services/payments/register/"
ADDRESS = {"host": "10.1.0.7", "port": 8443, "scheme": "https", "zone": "eu-2", "tags": ["v42"]}


def _instance_url(pk: int, suffix: str = "") -> str:
    return f"/api/v1/services/payments/instances/{pk}/{suffix}"


def test_a_service_registers_its_instance_with_its_token(token_client, payments_token: str) -> None:
    response = token_client(payments_token).post(REGISTER, ADDRESS, format="json")
    assert response.status_code == 201, response.data
    instance = Instance.objects.get(pk=response.data["id"])
    assert (instance.host, instance.port, instance.scheme, instance.zone) == (
        "10.1.0.7",
        8443,
        "https",
        "eu-2",
    )
    assert instance.self_registered and instance.last_heartbeat_at is not None
    # Registering counts as the first heartbeat.
    assert response.data["state"] == "healthy" and response.data["heartbeat_ttl_seconds"] == 30


def test_registering_again_refreshes_the_same_instance(token_client, payments_token: str) -> None:
    client = token_client(payments_token)
    first = client.post(REGISTER, ADDRESS, format="json")
    with time_machine.travel(timezone.now() + timedelta(seconds=10)):
        again = client.post(
            REGISTER, {"host": "10.1.0.7", "port": 8443, "weight": 20}, format="json"
        )
    assert again.status_code == 200 and again.data["id"] == first.data["id"]
    instance = Instance.objects.get()
    assert (instance.weight, instance.scheme, instance.tags) == (20, "https", ["v42"])
    assert again.data["last_heartbeat_at"] > first.data["last_heartbeat_at"]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer mgs_deadbeef_notthesecret",
        "Bearer not-a-token",
        "Basic b3NjYXI6eA==",
        "Bearer",
    ],
)
def test_it_answers_401_with_a_challenge_without_a_valid_token(
    client, payments_token: str, header
) -> None:
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.post(REGISTER, ADDRESS, content_type="application/json", **extra)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not Instance.objects.exists()


def test_a_replaced_token_no_longer_works(
    token_client, payments: Service, payments_token: str, oscar
) -> None:
    issue_registration_token(payments, actor=oscar)
    assert token_client(payments_token).post(REGISTER, ADDRESS, format="json").status_code == 401


def test_a_token_of_another_service_cannot_register_there(
    token_client, ledger: Service, oscar
) -> None:
    ledger_token = issue_registration_token(ledger, actor=oscar)
    response = token_client(ledger_token).post(REGISTER, ADDRESS, format="json")
    assert response.status_code == 404
    assert not Instance.objects.exists()


def test_a_token_of_another_service_cannot_touch_its_instances(
    token_client, payments_token: str, ledger: Service, oscar
) -> None:
    created = token_client(payments_token).post(REGISTER, ADDRESS, format="json").data
    ledger_client = token_client(issue_registration_token(ledger, actor=oscar))
    assert ledger_client.post(_instance_url(created["id"], "heartbeat/")).status_code == 404
    assert ledger_client.delete(_instance_url(created["id"])).status_code == 404
    ledger_path = f"/api/v1/services/ledger/instances/{created['id']}/"
    assert ledger_client.post(f"{ledger_path}heartbeat/").status_code == 404
    assert ledger_client.delete(ledger_path).status_code == 404
    assert Instance.objects.filter(pk=created["id"]).exists()


def test_a_token_cannot_touch_operator_instances(
    token_client, payments: Service, payments_token: str, oscar
) -> None:
    managed = register_instance(payments, actor=oscar, host="10.1.0.7", port=8443)
    client = token_client(payments_token)
    assert client.post(_instance_url(managed.pk, "heartbeat/")).status_code == 404
    assert client.delete(_instance_url(managed.pk)).status_code == 404
    takeover = client.post(REGISTER, ADDRESS, format="json")
    assert takeover.status_code == 409 and "managed by an operator" in takeover.data["detail"]
    managed.refresh_from_db()
    assert not managed.self_registered and managed.scheme == "http"


def test_a_session_user_cannot_use_the_self_registration_endpoints(
    client_for, oscar, payments: Service
) -> None:
    response = client_for(oscar).post(REGISTER, ADDRESS, format="json")
    assert response.status_code == 401
    assert not Instance.objects.exists()


def test_bad_registration_bodies_name_the_field(token_client, payments_token: str) -> None:
    client = token_client(payments_token)
    no_port = client.post(REGISTER, {"host": "h"}, format="json")
    assert no_port.status_code == 400 and "port" in no_port.data
    big_port = client.post(REGISTER, {"host": "h", "port": 0}, format="json")
    assert big_port.status_code == 400 and "port" in big_port.data
    bad_tags = client.post(REGISTER, {"host": "h", "port": 80, "tags": "x"}, format="json")
    assert bad_tags.status_code == 400 and "tags" in bad_tags.data
    assert not Instance.objects.exists()


def test_a_heartbeat_refreshes_the_instance(token_client, payments_token: str) -> None:
    client = token_client(payments_token)
    created = client.post(REGISTER, ADDRESS, format="json").data
    later = timezone.now() + timedelta(seconds=20)
    with time_machine.travel(later, tick=False):
        beat = client.post(_instance_url(created["id"], "heartbeat/"))
    assert beat.status_code == 200 and beat.data["state"] == "healthy"
    assert Instance.objects.get().last_heartbeat_at == later


def test_a_heartbeat_revives_an_instance_the_ttl_marked_unhealthy(
    token_client, payments_token: str
) -> None:
    client = token_client(payments_token)
    created = client.post(REGISTER, ADDRESS, format="json").data
    Instance.objects.filter(pk=created["id"]).update(
        health=Health.UNHEALTHY, state_reason=TTL_EXPIRED
    )
    beat = client.post(_instance_url(created["id"], "heartbeat/"))
    assert (beat.data["state"], beat.data["state_reason"]) == ("healthy", "heartbeat received")


def test_a_heartbeat_does_not_overrule_a_failed_health_probe(
    token_client, payments_token: str
) -> None:
    client = token_client(payments_token)
    created = client.post(REGISTER, ADDRESS, format="json").data
    Instance.objects.filter(pk=created["id"]).update(
        health=Health.UNHEALTHY, state_reason="HTTP 503"
    )
    beat = client.post(_instance_url(created["id"], "heartbeat/"))
    assert (beat.data["state"], beat.data["state_reason"]) == ("unhealthy", "HTTP 503")


def test_a_drained_instance_stays_drained_when_it_registers_again(
    token_client, payments_token: str, client_for, oscar
) -> None:
    client = token_client(payments_token)
    created = client.post(REGISTER, ADDRESS, format="json").data
    client_for(oscar).post(f"/api/v1/instances/{created['id']}/drain/")
    assert client.post(REGISTER, ADDRESS, format="json").data["state"] == "draining"
    assert client.post(_instance_url(created["id"], "heartbeat/")).data["state"] == "draining"


@pytest.mark.parametrize("how", ["delete", "post"])
def test_an_instance_deregisters_itself(token_client, payments_token: str, how: str) -> None:
    client = token_client(payments_token)
    created = client.post(REGISTER, ADDRESS, format="json").data
    if how == "delete":
        response = client.delete(_instance_url(created["id"]))
    else:
        response = client.post(_instance_url(created["id"], "deregister/"))
    assert response.status_code == 204
    assert not Instance.objects.exists()
    assert client.post(_instance_url(created["id"], "heartbeat/")).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_self_registration_over_real_http(live_server, oscar) -> None:  # type: ignore[no-untyped-def]
    from registry.services.services import create_service

    service = create_service(actor=oscar, name="Live", slug="live")
    token = issue_registration_token(service, actor=oscar)
    base = f"{live_server.url}/api/v1/services/live"

    def call(
        path: str, body: dict[str, object] | None = None, auth: str = token
    ) -> tuple[int, dict[str, object]]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{base}/{path}", data=data, method="POST")  # noqa: S310
        request.add_header("Authorization", f"Bearer {auth}")
        request.add_header("Content-Type", "application/json")
        try:
            # The URL is the local live server's, built above.
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                raw = response.read()
                return response.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as error:
            return error.code, {"www-authenticate": error.headers.get("WWW-Authenticate")}

    status, created = call("register/", {"host": "127.0.0.1", "port": 9999})
    assert status == 201 and created["state"] == "healthy"
    assert call(f"instances/{created['id']}/heartbeat/")[0] == 200
    refused = call(f"instances/{created['id']}/heartbeat/", auth="mgs_00000000_wrong")
    assert refused == (401, {"www-authenticate": 'Bearer realm="meshgate-registry"'})
    assert call(f"instances/{created['id']}/deregister/")[0] == 204
    assert not Instance.objects.filter(service=service).exists()
