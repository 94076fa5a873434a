"""OAuth2 clients: a django-oauth-toolkit application linked to a MeshGate application.

DOT hashes client secrets at rest (hash_client_secret), so the secret is generated
here, handed to DOT, and returned to the caller exactly once.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.exceptions import ValidationError
from oauth2_provider.models import get_application_model

from apis.models import Application, OAuthClient
from portal.services import acting_as

GRANT_TYPES = {
    "client-credentials": "client-credentials",
    "authorization-code": "authorization-code",
}
SECRET_BYTES = 48


def create_oauth_client(
    application: Application,
    *,
    actor: Any,
    grant_type: str = "client-credentials",
    redirect_uris: str = "",
    name: str = "",
) -> tuple[OAuthClient, str]:
    """A confidential client of `application`; returns it with its secret, shown only now.

    Authorization code needs at least one redirect URI; PKCE (S256) is required for it
    by the provider settings.
    """
    client_secret = secrets.token_urlsafe(SECRET_BYTES)
    dot_application = _dot_application(application, grant_type, redirect_uris, name, client_secret)
    with acting_as(actor):
        dot_application.save()
        client = OAuthClient.objects.create(application=application, client=dot_application)
    return client, client_secret


def delete_oauth_client(client: OAuthClient, *, actor: Any) -> None:
    """Delete the client; every access token it holds is revoked with it."""
    with acting_as(actor):
        client.delete()


def _dot_application(
    application: Application, grant_type: str, redirect_uris: str, name: str, client_secret: str
) -> Any:
    if grant_type not in GRANT_TYPES:
        raise ValidationError({"grant_type": f"must be one of: {', '.join(GRANT_TYPES)}"})
    model = get_application_model()
    dot_application = model(
        name=name or f"{application.name} ({grant_type})",
        user=application.owner,
        client_type=model.CLIENT_CONFIDENTIAL,
        authorization_grant_type=GRANT_TYPES[grant_type],
        redirect_uris=" ".join(redirect_uris.split()),
        client_secret=client_secret,
        hash_client_secret=True,
    )
    _clean(dot_application, grant_type)
    return dot_application


def _clean(dot_application: Any, grant_type: str) -> None:
    if grant_type == "authorization-code" and not dot_application.redirect_uris:
        raise ValidationError(
            {"redirect_uris": "the authorization-code grant needs at least one redirect URI"}
        )
    # DOT validates the redirect URIs against ALLOWED_REDIRECT_URI_SCHEMES here.
    dot_application.full_clean(exclude=["client_secret"])
