"""DOT's ACCESS_TOKEN_GENERATOR: access tokens are JWTs (RFC 9068) signed by the portal.

Gateways verify them with the public JWKS from the snapshot, so no request calls the
portal. DOT stores only a SHA-256 of the token (COMPLIANT_BCP_RFC9700_TOKEN_STORAGE);
apis.oauth.signals keeps the jti beside that row so revocation can name the token.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import jwt

from apis.oauth.signing import ALGORITHM, signing_key
from apis.services.oauth_tokens import audience, issuer

TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)


def generate_access_token(request: Any) -> str:
    """Called by oauthlib with its request, after the client and scopes were validated."""
    key = signing_key()
    headers = {"kid": key.kid, "typ": TOKEN_TYPE}
    return jwt.encode(
        access_token_claims(request), key.private_key, algorithm=ALGORITHM, headers=headers
    )


def access_token_claims(request: Any) -> dict[str, Any]:
    now = int(time.time())
    client = request.client
    user_pk = getattr(getattr(request, "user", None), "pk", None)
    return {
        "iss": issuer(),
        "aud": audience(),
        # A user's token speaks for the user; a client-credentials token for the client.
        "sub": str(user_pk) if user_pk else client.client_id,
        "client_id": client.client_id,
        "app": _application_id(client),
        "scope": " ".join(request.scopes or []),
        "iat": now,
        "exp": now + int(request.expires_in),
        "jti": secrets.token_urlsafe(16),
    }


def _application_id(client: Any) -> int | None:
    # A DOT application made outside MeshGate (e.g. in DOT's admin) has no link;
    # its tokens carry app=null and the gateway grants them no subscription.
    link = getattr(client, "meshgate_client", None)
    return link.application_id if link is not None else None
