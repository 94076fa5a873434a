"""API key lifecycle: format, no plaintext at rest, lookup, rotation grace, expiry, revocation."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from apis.models import ApiKey
from apis.services.keys import (
    create_api_key,
    generate_api_key,
    hash_api_key,
    revoke_api_key,
    rotate_api_key,
)

pytest_plugins = ["tests.apis.consumer_fixtures"]
pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def test_generated_keys_have_the_documented_shape() -> None:
    prefix, full_key = generate_api_key()
    scheme, key_prefix, secret = full_key.split("_", 2)
    assert (scheme, key_prefix) == ("mg", prefix)
    assert len(prefix) == 8 and prefix.isalnum() and prefix.islower()
    assert len(secret) >= 43  # base64url of 32 bytes
    assert generate_api_key()[1] != full_key


def test_hash_is_sha256_of_the_whole_key() -> None:
    _, full_key = generate_api_key()
    assert hash_api_key(full_key) == hashlib.sha256(full_key.encode()).hexdigest()


def test_the_row_holds_no_plaintext_of_the_key(bobs_app: Any, bob: Any) -> None:
    key, full_key = create_api_key(bobs_app, actor=bob, name="ci")
    secret = full_key.split("_", 2)[2]
    row = ApiKey.objects.filter(pk=key.pk).values().get()
    stored = " ".join(str(value) for value in row.values())
    assert full_key not in stored
    assert secret not in stored
    assert row["prefix"] == full_key.split("_")[1]
    assert row["key_hash"] == hash_api_key(full_key)


def test_for_key_finds_the_key_and_rejects_near_misses(bobs_app: Any, bob: Any) -> None:
    key, full_key = create_api_key(bobs_app, actor=bob)
    assert ApiKey.objects.for_key(full_key) == key
    assert ApiKey.objects.for_key(full_key[:-1] + ("A" if full_key[-1] != "A" else "B")) is None
    assert ApiKey.objects.for_key(full_key.replace("mg_", "xx_", 1)) is None
    assert ApiKey.objects.for_key("") is None
    assert ApiKey.objects.for_key("mg_short_secret") is None


def test_an_application_may_hold_several_active_keys(bobs_app: Any, bob: Any) -> None:
    keys = [create_api_key(bobs_app, actor=bob, name=f"k{i}") for i in range(3)]
    assert all(ApiKey.objects.for_key(full) == key for key, full in keys)
    assert bobs_app.api_keys.usable().count() == 3


def test_it_rejects_revoked_key(bobs_app: Any, bob: Any) -> None:
    key, full_key = create_api_key(bobs_app, actor=bob)
    revoked = revoke_api_key(key, actor=bob)
    assert revoked.revoked_at is not None
    assert ApiKey.objects.for_key(full_key) is None
    assert revoke_api_key(key, actor=bob).revoked_at == revoked.revoked_at  # idempotent


def test_it_rejects_expired_key(bobs_app: Any, bob: Any) -> None:
    with time_machine.travel(NOON, tick=False):
        _, full_key = create_api_key(bobs_app, actor=bob, expires_at=NOON + dt.timedelta(hours=1))
        assert ApiKey.objects.for_key(full_key) is not None
    with time_machine.travel(NOON + dt.timedelta(hours=1, seconds=1), tick=False):
        assert ApiKey.objects.for_key(full_key) is None


def test_expiry_in_the_past_is_refused(bobs_app: Any, bob: Any) -> None:
    with pytest.raises(ValidationError) as excinfo:
        create_api_key(bobs_app, actor=bob, expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert "expires_at" in excinfo.value.message_dict
    assert not ApiKey.objects.exists()


def test_rotation_keeps_the_old_key_working_until_the_grace_ends(bobs_app: Any, bob: Any) -> None:
    with time_machine.travel(NOON, tick=False):
        old, old_key = create_api_key(bobs_app, actor=bob, name="prod")
        new, new_key = rotate_api_key(old, actor=bob, grace_seconds=3600)
        old.refresh_from_db()
        assert old.replaced_by == new and new.name == "prod"
        assert old.expires_at == NOON + dt.timedelta(hours=1)
        assert ApiKey.objects.for_key(old_key) == old
        assert ApiKey.objects.for_key(new_key) == new
    with time_machine.travel(NOON + dt.timedelta(minutes=59), tick=False):
        assert ApiKey.objects.for_key(old_key) == old
    with time_machine.travel(NOON + dt.timedelta(hours=1, seconds=1), tick=False):
        assert ApiKey.objects.for_key(old_key) is None
        assert ApiKey.objects.for_key(new_key) == new


@override_settings(MESHGATE_KEYS={"ROTATION_GRACE_SECONDS": 24 * 3600})
def test_rotation_grace_defaults_to_the_setting(bobs_app: Any, bob: Any) -> None:
    with time_machine.travel(NOON, tick=False):
        old, _ = create_api_key(bobs_app, actor=bob)
        rotate_api_key(old, actor=bob)
        old.refresh_from_db()
    assert old.expires_at == NOON + dt.timedelta(hours=24)


def test_rotation_with_zero_grace_stops_the_old_key_at_once(bobs_app: Any, bob: Any) -> None:
    old, old_key = create_api_key(bobs_app, actor=bob)
    _, new_key = rotate_api_key(old, actor=bob, grace_seconds=0)
    assert ApiKey.objects.for_key(old_key) is None
    assert ApiKey.objects.for_key(new_key) is not None


def test_rotation_grace_never_extends_an_earlier_expiry(bobs_app: Any, bob: Any) -> None:
    with time_machine.travel(NOON, tick=False):
        old, _ = create_api_key(bobs_app, actor=bob, expires_at=NOON + dt.timedelta(minutes=5))
        rotate_api_key(old, actor=bob, grace_seconds=3600)
        old.refresh_from_db()
    assert old.expires_at == NOON + dt.timedelta(minutes=5)


def test_revoked_expired_or_already_rotated_keys_cannot_be_rotated(bobs_app: Any, bob: Any) -> None:
    revoked, _ = create_api_key(bobs_app, actor=bob)
    revoke_api_key(revoked, actor=bob)
    rotated, _ = create_api_key(bobs_app, actor=bob)
    rotate_api_key(rotated, actor=bob)
    for key, field in ((revoked, "revoked_at"), (rotated, "replaced_by")):
        with pytest.raises(ValidationError) as excinfo:
            rotate_api_key(key, actor=bob)
        assert field in excinfo.value.message_dict
    with pytest.raises(ValidationError) as excinfo:
        rotate_api_key(revoked, actor=bob, grace_seconds=-1)
    assert "grace_seconds" in excinfo.value.message_dict
    assert ApiKey.objects.count() == 3


def test_the_audit_log_names_the_actor_and_holds_no_key_material(
    bobs_app: Any, bob: Any, alice: Any
) -> None:
    from auditlog.models import LogEntry

    key, full_key = create_api_key(bobs_app, actor=bob)
    revoke_api_key(key, actor=alice)
    entries = LogEntry.objects.get_for_object(key).order_by("timestamp")
    assert [(entry.action, entry.actor) for entry in entries] == [
        (LogEntry.Action.CREATE, bob),
        (LogEntry.Action.UPDATE, alice),
    ]
    assert "revoked_at" in entries[1].changes_dict
    stored = " ".join(str(entry.changes) for entry in entries)
    assert full_key not in stored and key.key_hash not in stored and key.prefix in stored
