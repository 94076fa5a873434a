"""Which models the audit log follows, and which fields it must never copy."""

from __future__ import annotations

from auditlog.registry import auditlog
from django.apps import apps

# Fields holding secrets or their digests stay out of the log entirely.
_AUDITED: dict[str, list[str]] = {
    "apis.Api": [],
    "apis.ApiVersion": ["openapi_source", "openapi_document"],
    "apis.Route": [],
    "apis.Plan": [],
    "apis.Application": [],
    "apis.Subscription": [],
    "apis.ApiKey": ["key_hash", "last_used_at"],
    "apis.OAuthClient": [],
    "oauth2_provider.Application": ["client_secret"],
    "registry.Service": ["registration_token_hash"],
    "registry.Instance": [
        "last_heartbeat_at",
        "last_check_at",
        "last_check_ok",
        "last_check_ms",
        "last_check_reason",
        "check_streak",
    ],
}


def register_models() -> None:
    for label, exclude in _AUDITED.items():
        model = apps.get_model(label)
        if not auditlog.contains(model):
            auditlog.register(model, exclude_fields=exclude)
