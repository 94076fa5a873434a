"""What gateways need to trust the portal's JWT access tokens, and token revocation.

Gateways validate an access token locally: signature against `public_jwks()`, then
`iss`, `aud`, `exp`, and the jti against a deny-list. Revocation cost: one
RevokedToken row plus one pub/sub message on `<prefix>:oauth:revoked`; each gateway
keeps the jti in its deny-list until the token's own `exp`, after which the token
is dead anyway. The snapshot also lists unexpired revocations, for gateways that
start (or missed a message) later.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import jwt
import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apis.models import RevokedToken
from apis.oauth.signing import ALGORITHM, signing_key
from portal.redis import get_redis, redis_key

logger = logging.getLogger(__name__)


def issuer() -> str:
    return settings.MESHGATE_OAUTH["ISSUER"]


def audience() -> str:
    return settings.MESHGATE_OAUTH["AUDIENCE"]


def public_jwks() -> dict[str, list[dict[str, str]]]:
    """The JWKS (RFC 7517) with the public half of the signing key; safe to publish."""
    return {"keys": [dict(signing_key().jwk)]}


def revoked_channel() -> str:
    return redis_key("oauth", "revoked")


def decode_access_token(token: str) -> dict[str, Any]:
    """The claims of a token this portal signed; raises jwt.InvalidTokenError otherwise.

    Does what a gateway does except the deny-list check.
    """
    return jwt.decode(
        token,
        signing_key().private_key.public_key(),
        algorithms=[ALGORITHM],
        audience=audience(),
        issuer=issuer(),
        options={"require": ["exp", "iat", "jti", "sub"]},
    )


def record_revoked_token(jti: str, expires_at: datetime) -> RevokedToken | None:
    """Deny `jti` until `expires_at` and tell the gateways once the transaction commits.

    Tokens that have expired already need no entry; None is returned for them.
    """
    if expires_at <= timezone.now():
        return None
    revoked, created = RevokedToken.objects.get_or_create(
        jti=jti, defaults={"expires_at": expires_at}
    )
    if created:
        message = json.dumps({"jti": jti, "exp": int(expires_at.timestamp())})
        transaction.on_commit(lambda: announce_revocation(message))
    return revoked


def announce_revocation(message: str) -> None:
    try:
        get_redis().publish(revoked_channel(), message)
    except (redis.exceptions.RedisError, OSError) as exc:
        # The row is committed and the next snapshot carries it; only the fast path is lost.
        logger.warning(
            "could not announce a token revocation on Redis (%s); gateways learn it from "
            "the next snapshot",
            type(exc).__name__,
        )


def purge_expired_revocations(at: datetime | None = None) -> int:
    """Delete deny-list rows whose tokens have expired; returns how many went."""
    deleted, _ = RevokedToken.objects.filter(expires_at__lte=at or timezone.now()).delete()
    return deleted
