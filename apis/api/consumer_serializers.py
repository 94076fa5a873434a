"""Serializers of the consumer REST API: applications, subscriptions, API keys, OAuth2 clients.

Rules live in the services; these only shape data. Relations a developer may name
in a body (their application, a catalogue version) are limited to what they may
see, so another developer's application is "does not exist", never "forbidden".
Secrets appear only in the *Created serializers, used once in the create response.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import serializers

from apis.choices import Lifecycle
from apis.models import ApiKey, ApiVersion, Application, OAuthClient, Plan, Subscription
from apis.services.keys import MAX_GRACE_SECONDS
from apis.services.oauth_clients import GRANT_TYPES


def _is_admin(context: dict[str, Any]) -> bool:
    request = context.get("request")
    return bool(request and getattr(request.user, "is_portal_admin", False))


class OwnApplicationField(serializers.PrimaryKeyRelatedField):
    """The caller's applications (an admin's: all of them)."""

    def get_queryset(self) -> QuerySet[Application]:
        applications = Application.objects.all()
        if _is_admin(self.context):
            return applications
        return applications.filter(owner=self.context["request"].user)


class VisibleVersionField(serializers.PrimaryKeyRelatedField):
    """Versions the caller can see in the catalogue; the service decides which take new ones."""

    def get_queryset(self) -> QuerySet[ApiVersion]:
        versions = ApiVersion.objects.select_related("api").defer(
            "openapi_source", "openapi_document"
        )
        if _is_admin(self.context):
            return versions
        return versions.filter(state__in=[Lifecycle.PUBLISHED, Lifecycle.DEPRECATED])


class ApplicationSerializer(serializers.ModelSerializer[Application]):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Application
        fields = ["id", "name", "description", "owner", "created_at", "updated_at"]
        read_only_fields = ["id", "owner", "created_at", "updated_at"]
        validators: list[Any] = []


class SubscriptionSerializer(serializers.ModelSerializer[Subscription]):
    application = OwnApplicationField()
    api_version = VisibleVersionField()
    plan = serializers.PrimaryKeyRelatedField(queryset=Plan.objects.all())
    api = serializers.CharField(source="api_version.api.slug", read_only=True)
    version = serializers.CharField(source="api_version.label", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Subscription
        fields = [
            "id",
            "application",
            "api_version",
            "plan",
            "api",
            "version",
            "status",
            "created_at",
            "decided_at",
            "decided_by",
        ]
        read_only_fields = ["id", "status", "created_at", "decided_at", "decided_by"]
        validators: list[Any] = []


class ApiKeySerializer(serializers.ModelSerializer[ApiKey]):
    """A key as listed: the prefix identifies it; the secret is never shown again."""

    application = OwnApplicationField()
    status = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "application",
            "name",
            "prefix",
            "status",
            "created_at",
            "expires_at",
            "revoked_at",
            "replaced_by",
            "last_used_at",
        ]
        read_only_fields = [
            "id",
            "prefix",
            "status",
            "created_at",
            "revoked_at",
            "replaced_by",
            "last_used_at",
        ]

    def get_status(self, key: ApiKey) -> str:
        if key.revoked_at is not None:
            return "revoked"
        if not key.is_usable(timezone.now()):
            return "expired"
        return "rotating" if key.replaced_by_id else "active"


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(
        read_only=True, help_text="The full key. Shown only in this response."
    )

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class RotateKeySerializer(serializers.Serializer[Any]):
    grace_seconds = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_GRACE_SECONDS,
        help_text="Seconds the old key keeps working; default 24 h (settings), 0 stops it now.",
    )
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Expiry of the new key"
    )


class OAuthClientSerializer(serializers.ModelSerializer[OAuthClient]):
    application = OwnApplicationField()
    client_id = serializers.CharField(source="client.client_id", read_only=True)
    name = serializers.CharField(
        source="client.name", required=False, allow_blank=True, max_length=255
    )
    grant_type = serializers.ChoiceField(
        source="client.authorization_grant_type",
        choices=list(GRANT_TYPES),
        default="client-credentials",
    )
    redirect_uris = serializers.CharField(
        source="client.redirect_uris",
        required=False,
        allow_blank=True,
        help_text="Space-separated; required for authorization-code (which also needs PKCE S256)",
    )

    class Meta:
        model = OAuthClient
        fields = [
            "id",
            "application",
            "client_id",
            "name",
            "grant_type",
            "redirect_uris",
            "created_at",
        ]
        read_only_fields = ["id", "client_id", "created_at"]


class OAuthClientCreatedSerializer(OAuthClientSerializer):
    client_secret = serializers.CharField(read_only=True, help_text="Shown only in this response.")

    class Meta(OAuthClientSerializer.Meta):
        fields = [*OAuthClientSerializer.Meta.fields, "client_secret"]
