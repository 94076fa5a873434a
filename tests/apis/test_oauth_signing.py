"""The portal's token-signing key: where it comes from, its kid, and what the JWKS reveals."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from apis.oauth.signing import ENV_VARIABLE, _load, jwk_thumbprint, signing_key
from apis.services.oauth_tokens import public_jwks

# RFC 8037 appendix A.2/A.3: the Ed25519 public key and its RFC 7638 thumbprint.
RFC8037_JWK = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def _pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_kid_is_the_rfc7638_thumbprint() -> None:
    assert jwk_thumbprint(RFC8037_JWK) == RFC8037_THUMBPRINT


def test_the_key_file_is_created_once_with_mode_0600(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv(ENV_VARIABLE, raising=False)
    path = tmp_path / "keys" / "signing.pem"
    with override_settings(
        MESHGATE_OAUTH={"ISSUER": "i", "AUDIENCE": "a", "SIGNING_KEY_FILE": str(path)}
    ):
        first = signing_key()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        content = path.read_bytes()
        _load.cache_clear()  # as a second process would: read the file, not the cache
        assert signing_key().kid == first.kid
    assert path.read_bytes() == content


def test_a_pem_in_the_environment_wins(tmp_path: Path, monkeypatch: Any) -> None:
    key = Ed25519PrivateKey.generate()
    monkeypatch.setenv(ENV_VARIABLE, _pem(key))
    path = tmp_path / "unused.pem"
    with override_settings(
        MESHGATE_OAUTH={"ISSUER": "i", "AUDIENCE": "a", "SIGNING_KEY_FILE": str(path)}
    ):
        jwk = public_jwks()["keys"][0]
    assert not path.exists()
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    import base64

    assert jwk["x"] == base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    assert jwk["kid"] == jwk_thumbprint(jwk)


def test_the_jwks_holds_no_private_member() -> None:
    keys = public_jwks()["keys"]
    assert len(keys) == 1
    assert set(keys[0]) == {"kty", "crv", "x", "kid", "use", "alg"}
    assert keys[0]["alg"] == "EdDSA" and keys[0]["use"] == "sig"


@pytest.mark.parametrize("content", ["not a pem", "ec"])
def test_a_bad_key_fails_with_a_message_naming_the_variable(content: str, monkeypatch: Any) -> None:
    pem = _pem(ec.generate_private_key(ec.SECP256R1())) if content == "ec" else content
    monkeypatch.setenv(ENV_VARIABLE, pem)
    with pytest.raises(ImproperlyConfigured) as excinfo:
        signing_key()
    assert ENV_VARIABLE in str(excinfo.value)
