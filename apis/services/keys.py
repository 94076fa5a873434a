"""API keys: `mg_<prefix>_<secret>`, shown once, stored as prefix + SHA-256.

The prefix (8 base32 characters) is public: it identifies the key in lists, logs and
the gateway's lookup table. The secret is 32 random bytes, base64url-encoded.

Why plain SHA-256 and not a slow password hash or an HMAC with a pepper: the secret
is 256 random bits, so a leaked hash cannot be brute-forced whatever the hash speed,
and a plain digest lets every gateway verify a key from the published snapshot
without being given a server-side pepper to keep secret as well.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from apis.models import ApiKey, Application
from portal.services import acting_as

if TYPE_CHECKING:
    from apis.models import ApiKeyQuerySet

KEY_SCHEME = "mg"
PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
PREFIX_LENGTH = 8
SECRET_BYTES = 32
# A rotation must end: a grace period is a bridge to the new key, not a second key.
MAX_GRACE_SECONDS = 30 * 24 * 3600


def generate_api_key() -> tuple[str, str]:
    """A fresh (prefix, full_key); nothing is stored."""
    prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    return prefix, f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"


def hash_api_key(full_key: str) -> str:
    """SHA-256 hex of the whole key string, as stored in ApiKey.key_hash and the snapshot."""
    return hashlib.sha256(full_key.encode("utf-8")).hexdigest()


def key_prefix(raw: str) -> str | None:
    """The prefix of a well-formed key, else None. The secret may itself contain '_'."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_SCHEME or len(parts[1]) != PREFIX_LENGTH or not parts[2]:
        return None
    return parts[1]


def find_api_key(keys: ApiKeyQuerySet, raw: str, at: datetime | None = None) -> ApiKey | None:
    """Implements `ApiKey.objects.for_key(raw)`: the usable key matching `raw`, else None."""
    prefix = key_prefix(raw)
    if prefix is None:
        return None
    key = keys.filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.key_hash, hash_api_key(raw)):
        return None
    return key if key.is_usable(at) else None


def create_api_key(
    application: Application, *, actor: Any, name: str = "", expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """A new key for `application`; the full key is returned here and never again."""
    _check_future(expires_at, "expires_at")
    with acting_as(actor):
        return _insert_key(application, name=name, expires_at=expires_at)


def rotate_api_key(
    key: ApiKey, *, actor: Any, grace_seconds: int | None = None, expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """A new key replacing `key`, which keeps working for `grace_seconds` (0: stops now).

    The default grace is settings.MESHGATE_KEYS["ROTATION_GRACE_SECONDS"]. The grace
    never extends the old key's life beyond an expiry it already had.
    """
    grace = (
        settings.MESHGATE_KEYS["ROTATION_GRACE_SECONDS"] if grace_seconds is None else grace_seconds
    )
    _check_grace(grace)
    _check_future(expires_at, "expires_at")
    with acting_as(actor):
        old = ApiKey.objects.select_for_update().get(pk=key.pk)
        _check_usable(old, "rotated")
        new, full_key = _insert_key(old.application, name=old.name, expires_at=expires_at)
        end = timezone.now() + timedelta(seconds=grace)
        old.expires_at = min(end, old.expires_at) if old.expires_at else end
        old.replaced_by = new
        old.save(update_fields=["expires_at", "replaced_by"])
    return new, full_key


def revoke_api_key(key: ApiKey, *, actor: Any) -> ApiKey:
    """Stop the key at once. Revoking a revoked key changes nothing."""
    with acting_as(actor):
        key = ApiKey.objects.select_for_update().get(pk=key.pk)
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
    return key


def _insert_key(
    application: Application, *, name: str, expires_at: datetime | None
) -> tuple[ApiKey, str]:
    prefix, full_key = _unused_prefix_key()
    key = ApiKey(
        application=application,
        name=name,
        prefix=prefix,
        key_hash=hash_api_key(full_key),
        expires_at=expires_at,
    )
    key.full_clean()
    key.save()
    return key, full_key


def _unused_prefix_key() -> tuple[str, str]:
    # 32**8 prefixes make a collision rare but not impossible; the unique index
    # still guards the race between this check and the insert.
    while True:
        prefix, full_key = generate_api_key()
        if not ApiKey.objects.filter(prefix=prefix).exists():
            return prefix, full_key


def _check_future(moment: datetime | None, field: str) -> None:
    if moment is not None and moment <= timezone.now():
        raise ValidationError({field: "must be in the future"})


def _check_grace(grace: int) -> None:
    if not 0 <= grace <= MAX_GRACE_SECONDS:
        raise ValidationError(
            {"grace_seconds": f"must be between 0 and {MAX_GRACE_SECONDS} seconds"}
        )


def _check_usable(key: ApiKey, verb: str) -> None:
    if key.replaced_by_id is not None:
        raise ValidationError(
            {"replaced_by": f"this key was already rotated; its replacement can be {verb}"}
        )
    if key.revoked_at is not None:
        raise ValidationError({"revoked_at": f"a revoked key cannot be {verb}"})
    if not key.is_usable():
        raise ValidationError({"expires_at": f"an expired key cannot be {verb}"})
