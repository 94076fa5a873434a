"""Per-service self-registration tokens: `mgs_<prefix>_<secret>`, stored as prefix + SHA-256.

The secret carries 256 random bits, so a plain SHA-256 digest is enough: there is nothing
to brute-force that a pepper or a slow hash would protect.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from registry.models import Service

TOKEN_SCHEME = "mgs"  # noqa: S105 (the token's public marker, not a secret)
_PREFIX_BYTES = 4
_SECRET_BYTES = 32


@dataclass(frozen=True)
class NewToken:
    raw: str
    prefix: str
    digest: str


def digest_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def generate_token() -> NewToken:
    prefix = secrets.token_hex(_PREFIX_BYTES)
    raw = f"{TOKEN_SCHEME}_{prefix}_{secrets.token_urlsafe(_SECRET_BYTES)}"
    return NewToken(raw=raw, prefix=prefix, digest=digest_token(raw))


def token_prefix(raw: str) -> str | None:
    """The lookup prefix of a well-formed token, else None."""
    scheme, _, rest = raw.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != TOKEN_SCHEME or not prefix or not secret:
        return None
    return prefix


def service_for_token(raw: str) -> Service | None:
    """The service whose current token is `raw`, compared in constant time."""
    prefix = token_prefix(raw)
    if prefix is None:
        return None
    digest = digest_token(raw)
    # Prefixes are short, so two services may share one; check every candidate.
    for service in Service.objects.filter(registration_token_prefix=prefix):
        if hmac.compare_digest(digest, service.registration_token_hash):
            return service
    return None
