from __future__ import annotations

import hashlib

import pytest
from django.core.exceptions import ValidationError

from apis.models import Api, ApiVersion
from registry.choices import Health
from registry.models import Instance, Service
from registry.services import instances, services
from registry.services.tokens import service_for_token

pytestmark = pytest.mark.django_db


def test_it_names_the_field_of_a_bad_expected_status_spec(oscar) -> None:
    with pytest.raises(ValidationError) as caught:
        services.create_service(actor=oscar, name="A", slug="a", check_expected_statuses="200-2xx")
    assert "check_expected_statuses" in caught.value.message_dict
    assert not Service.objects.exists()


def test_it_rejects_a_timeout_not_shorter_than_the_interval(oscar) -> None:
    with pytest.raises(ValidationError) as caught:
        services.create_service(
            actor=oscar, name="A", slug="a", check_interval_seconds=5, check_timeout_seconds=5
        )
    assert "check_timeout_seconds" in caught.value.message_dict


def test_it_rejects_deregister_after_shorter_than_the_ttl(payments: Service, oscar) -> None:
    with pytest.raises(ValidationError) as caught:
        services.update_service(payments, actor=oscar, deregister_after_seconds=10)
    assert "deregister_after_seconds" in caught.value.message_dict
    payments.refresh_from_db()
    assert payments.deregister_after_seconds == 300


def test_it_refuses_to_set_token_columns_through_update(payments: Service, oscar) -> None:
    with pytest.raises(ValidationError) as caught:
        services.update_service(payments, actor=oscar, registration_token_hash="0" * 64)  # type: ignore[call-arg]
    assert "registration_token_hash" in caught.value.message_dict


def test_a_new_service_is_owned_by_its_creator(payments: Service, oscar) -> None:
    assert payments.owner == oscar


def test_it_stores_only_the_prefix_and_digest_of_a_token(payments: Service, oscar) -> None:
    token = services.issue_registration_token(payments, actor=oscar)
    scheme, prefix, secret = token.split("_", 2)
    assert scheme == "mgs" and len(secret) >= 43  # 32 random bytes, urlsafe base64
    payments.refresh_from_db()
    assert payments.registration_token_prefix == prefix
    assert payments.registration_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert secret not in payments.registration_token_hash
    assert service_for_token(token) == payments


def test_issuing_again_replaces_the_old_token(payments: Service, oscar) -> None:
    first = services.issue_registration_token(payments, actor=oscar)
    second = services.issue_registration_token(payments, actor=oscar)
    assert service_for_token(first) is None
    assert service_for_token(second) == payments


def test_it_does_not_accept_a_token_with_a_known_prefix_and_a_wrong_secret(
    payments: Service, oscar
) -> None:
    token = services.issue_registration_token(payments, actor=oscar)
    assert service_for_token(token[:-4] + "AAAA") is None
    assert service_for_token("mgs_nothing") is None
    assert service_for_token("not-a-token") is None


def test_it_refuses_to_delete_a_service_an_api_version_routes_to(payments: Service, oscar) -> None:
    api = Api.objects.create(name="Pay", slug="pay")
    ApiVersion.objects.create(api=api, label="v1", base_path="/pay/v1", upstream_service=payments)
    with pytest.raises(services.ServiceInUse, match="pay v1"):
        services.delete_service(payments, actor=oscar)
    assert Service.objects.filter(pk=payments.pk).exists()


def test_deleting_a_service_removes_its_instances(payments: Service, oscar) -> None:
    instances.register_instance(payments, actor=oscar, host="10.0.0.1", port=80)
    services.delete_service(payments, actor=oscar)
    assert not Instance.objects.exists()


def test_it_names_the_port_when_out_of_range(payments: Service, oscar) -> None:
    with pytest.raises(ValidationError) as caught:
        instances.register_instance(payments, actor=oscar, host="10.0.0.1", port=70000)
    assert "port" in caught.value.message_dict


def test_it_names_tags_that_are_not_a_list_of_strings(payments: Service, oscar) -> None:
    with pytest.raises(ValidationError) as caught:
        instances.register_instance(payments, actor=oscar, host="10.0.0.1", port=80, tags=["ok", 3])  # type: ignore[list-item]
    assert "tags" in caught.value.message_dict


def test_it_refuses_a_second_instance_at_the_same_address(payments: Service, oscar) -> None:
    instances.register_instance(payments, actor=oscar, host="10.0.0.1", port=80)
    with pytest.raises(instances.AddressTaken, match="10.0.0.1:80"):
        instances.register_instance(payments, actor=oscar, host="10.0.0.1", port=80)
    assert Instance.objects.count() == 1


def test_the_same_address_may_serve_two_services(payments: Service, ledger: Service, oscar) -> None:
    instances.register_instance(payments, actor=oscar, host="10.0.0.1", port=80)
    instances.register_instance(ledger, actor=oscar, host="10.0.0.1", port=80)
    assert Instance.objects.count() == 2


def test_a_new_operator_instance_starts_with_unknown_health(payments: Service, oscar) -> None:
    instance = instances.register_instance(payments, actor=oscar, host="10.0.0.1", port=80)
    assert instance.health == Health.UNKNOWN and instance.state == "unknown"


def test_changing_one_instance_leaves_the_others_health_alone(payments: Service, oscar) -> None:
    first = instances.register_instance(payments, actor=oscar, host="10.0.0.1", port=80)
    second = instances.register_instance(payments, actor=oscar, host="10.0.0.2", port=80)
    Instance.objects.filter(pk__in=[first.pk, second.pk]).update(
        health=Health.HEALTHY, state_reason="probe ok"
    )
    first.refresh_from_db()
    instances.update_instance(first, actor=oscar, weight=5, tags=["canary"])
    instances.register_instance(payments, actor=oscar, host="10.0.0.3", port=80)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.weight, first.tags, first.health) == (5, ["canary"], Health.HEALTHY)
    assert (second.health, second.state_reason) == (Health.HEALTHY, "probe ok")


def test_a_weight_change_from_a_stale_copy_keeps_the_current_health(
    payments: Service, oscar
) -> None:
    stale = instances.register_instance(payments, actor=oscar, host="10.0.0.1", port=80)
    Instance.objects.filter(pk=stale.pk).update(
        health=Health.UNHEALTHY, state_reason="probe failed"
    )
    instances.update_instance(stale, actor=oscar, weight=7)
    fresh = Instance.objects.get(pk=stale.pk)
    assert (fresh.weight, fresh.health, fresh.state_reason) == (7, Health.UNHEALTHY, "probe failed")


def test_moving_an_instance_to_a_new_address_resets_its_health(payments: Service, oscar) -> None:
    instance = instances.register_instance(payments, actor=oscar, host="10.0.0.1", port=80)
    Instance.objects.filter(pk=instance.pk).update(health=Health.HEALTHY)
    instance.refresh_from_db()
    instances.update_instance(instance, actor=oscar, port=8080)
    instance.refresh_from_db()
    assert (instance.port, instance.health, instance.state_reason) == (
        8080,
        Health.UNKNOWN,
        "address changed",
    )


def test_drain_keeps_the_instance_draining_until_undrain(payments: Service, oscar) -> None:
    instance = instances.register_instance(payments, actor=oscar, host="10.0.0.1", port=80)
    Instance.objects.filter(pk=instance.pk).update(health=Health.HEALTHY)
    instance.refresh_from_db()
    before = instance.state_changed_at
    instances.drain_instance(instance, actor=oscar, reason="kernel upgrade")
    instances.update_instance(instance, actor=oscar, weight=10)
    instance.refresh_from_db()
    assert (instance.state, instance.state_reason) == ("draining", "kernel upgrade")
    assert instance.state_changed_at > before
    instances.undrain_instance(instance, actor=oscar)
    instance.refresh_from_db()
    assert (instance.state, instance.state_reason) == ("healthy", "undrained by oscar")


def test_draining_twice_keeps_the_first_change_time(payments: Service, oscar) -> None:
    instance = instances.register_instance(payments, actor=oscar, host="10.0.0.1", port=80)
    instances.drain_instance(instance, actor=oscar)
    first = Instance.objects.get(pk=instance.pk).state_changed_at
    instances.drain_instance(Instance.objects.get(pk=instance.pk), actor=oscar, reason="again")
    again = Instance.objects.get(pk=instance.pk)
    assert (again.state_changed_at, again.state_reason) == (first, "drained by oscar")
