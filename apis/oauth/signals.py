"""Hooks on DOT's models that keep the gateways' deny-list right.

DOT revokes an access token by deleting its row (`AccessToken.revoke()`), whether it
came from /o/revoke_token/, a refresh-token rotation, its client's deletion or a
user's. So a pre_delete receiver sees every revocation; it reads the jti that
`on_access_token_saved` recorded, because DOT keeps only a digest of the token.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import jwt
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from oauth2_provider.models import get_access_token_model, get_application_model

from apis.models import IssuedToken, OAuthClient
from apis.services.oauth_tokens import record_revoked_token

_CLAIMS = "_meshgate_jwt_claims"


def connect_signals() -> None:
    access_token = get_access_token_model()
    pre_save.connect(
        on_access_token_saving, sender=access_token, dispatch_uid="meshgate-jti-saving"
    )
    post_save.connect(on_access_token_saved, sender=access_token, dispatch_uid="meshgate-jti-saved")
    pre_delete.connect(
        on_access_token_deleting, sender=access_token, dispatch_uid="meshgate-jti-revoke"
    )
    post_delete.connect(
        on_oauth_client_deleted, sender=OAuthClient, dispatch_uid="meshgate-client-deleted"
    )


def on_access_token_saving(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    # Only here is the plaintext token still on the instance: DOT's checksum field
    # drops `_raw_token` while saving, and the column stays empty (RFC 9700 storage).
    token = getattr(instance, "_raw_token", None) or instance.token
    if raw or not token:
        return
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:  # not one of ours (an opaque token): nothing to track
        return
    if isinstance(claims.get("jti"), str) and isinstance(claims.get("exp"), int):
        setattr(instance, _CLAIMS, claims)


def on_access_token_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    claims = instance.__dict__.pop(_CLAIMS, None)
    if claims is None:
        return
    expires_at = dt.datetime.fromtimestamp(claims["exp"], tz=dt.UTC)
    previous = IssuedToken.objects.filter(access_token=instance).first()
    if previous is not None and previous.jti != claims["jti"]:
        # DOT may re-issue into the same row (refresh without rotation); the old JWT
        # would stay valid at the gateways until its exp unless it is revoked.
        record_revoked_token(previous.jti, previous.expires_at)
    IssuedToken.objects.update_or_create(
        access_token=instance, defaults={"jti": claims["jti"], "expires_at": expires_at}
    )


def on_access_token_deleting(sender: Any, instance: Any, **kwargs: Any) -> None:
    issued = IssuedToken.objects.filter(access_token_id=instance.pk).first()
    if issued is not None:
        record_revoked_token(issued.jti, issued.expires_at)


def on_oauth_client_deleted(sender: Any, instance: OAuthClient, **kwargs: Any) -> None:
    # Deleting the DOT application cascades to its tokens, which revokes them. This
    # covers every way the link goes: the client's own deletion, its MeshGate
    # application's, or its owner's.
    get_application_model().objects.filter(pk=instance.client_id).delete()
