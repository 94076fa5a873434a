"""No secret, and no digest of one, may reach the audit log."""

from __future__ import annotations

import hashlib
import json

import pytest
from auditlog.models import LogEntry
from django.core import serializers

from apis.models import ApiKey
from apis.services.applications import create_application
from apis.services.keys import create_api_key, revoke_api_key, rotate_api_key
from registry.services.services import create_service, issue_registration_token

pytestmark = pytest.mark.django_db


def _whole_log() -> str:
    rows = serializers.serialize("json", LogEntry.objects.all())
    return json.dumps(json.loads(rows))


def test_a_registration_token_and_its_digest_never_reach_the_audit_log(
    client_for, alice, oscar
) -> None:
    service = create_service(actor=oscar, name="Payments", slug="payments")
    first = issue_registration_token(service, actor=oscar)
    second = client_for(oscar).post("/api/v1/services/payments/registration-token/").data["token"]
    service.refresh_from_db()
    log = _whole_log()
    for token in (first, second):
        secret = token.split("_", 2)[2]
        assert secret not in log
        assert hashlib.sha256(token.encode()).hexdigest() not in log
    assert service.registration_token_hash not in log
    assert LogEntry.objects.filter(object_pk=str(service.pk), actor=oscar).count() >= 3
    assert (
        "registration_token_hash"
        not in client_for(alice).get("/api/v1/audit-log/").content.decode()
    )


def test_creating_rotating_and_revoking_keys_leaves_no_secret_in_the_log(
    client_for, alice, bob
) -> None:
    app = create_application(bob, actor=bob, name="shop")
    key, first = create_api_key(app, actor=bob, name="ci")
    new_key, second = rotate_api_key(key, actor=bob, grace_seconds=60)
    revoke_api_key(new_key, actor=bob)
    log = _whole_log()
    for raw in (first, second):
        assert raw.split("_", 2)[2] not in log
        assert hashlib.sha256(raw.encode()).hexdigest() not in log
    for row in ApiKey.objects.all():
        assert row.key_hash not in log
    key_entries = LogEntry.objects.filter(content_type__model="apikey")
    assert key_entries.filter(actor=bob).count() >= 4  # two creates, the rotation, the revocation
    assert "key_hash" not in client_for(alice).get("/api/v1/audit-log/").content.decode()
