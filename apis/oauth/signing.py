"""The portal's Ed25519 key that signs JWT access tokens, and its public JWK.

The private key comes from MESHGATE_OAUTH_SIGNING_KEY (a PEM) when set, else from
settings.MESHGATE_OAUTH["SIGNING_KEY_FILE"], created (mode 0600) on first use. Every
portal process of a deployment must use the same key: set the variable, or share the file.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ALGORITHM = "EdDSA"
ENV_VARIABLE = "MESHGATE_OAUTH_SIGNING_KEY"


@dataclass(frozen=True)
class SigningKey:
    private_key: Ed25519PrivateKey
    kid: str
    jwk: dict[str, str]


def signing_key() -> SigningKey:
    """The current key; cached per source so tests that point the settings elsewhere get theirs."""
    return _load(os.environ.get(ENV_VARIABLE, ""), settings.MESHGATE_OAUTH["SIGNING_KEY_FILE"])


@functools.lru_cache(maxsize=4)
def _load(pem: str, path: str) -> SigningKey:
    source = f"{ENV_VARIABLE}" if pem else path
    private_key = _parse(pem.encode() if pem else _read_or_create(Path(path)), source)
    jwk = public_jwk_members(private_key.public_key())
    kid = jwk_thumbprint(jwk)
    return SigningKey(private_key, kid, {**jwk, "kid": kid, "use": "sig", "alg": ALGORITHM})


def _parse(pem: bytes, source: str) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"{source} must hold an unencrypted PEM private key ({exc})"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(
            f"{source} must hold an Ed25519 private key (openssl genpkey -algorithm ed25519)"
        )
    return key


def _read_or_create(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return pem


def public_jwk_members(public_key: Ed25519PublicKey) -> dict[str, str]:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw)}


def jwk_thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members, sorted, without whitespace."""
    required = {name: jwk[name] for name in ("crv", "kty", "x")}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
