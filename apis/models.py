from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from apis.choices import (
    AuthMode,
    DocumentFormat,
    HttpMethod,
    Lifecycle,
    RedisDownPolicy,
    RouteAuth,
    SubscriptionStatus,
)

base_path_validator = RegexValidator(
    r"^/([A-Za-z0-9._~\-]+(/[A-Za-z0-9._~\-]+)*)?$",
    "must start with '/', contain no '//' and no trailing '/', e.g. /petstore/v1",
)


class Api(models.Model):
    """A product in the catalogue; its versions carry the contract and the routes."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="apis",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        verbose_name = "API"

    def __str__(self) -> str:
        return self.name


# How the gateway proxies a version, as an admin tunes it. The REST API, the catalogue
# YAML and the catalogue services all read this one list.
VERSION_PROXY_SETTINGS = (
    "upstream_path",
    "auth_mode",
    "allow_key_in_query",
    "connect_timeout_ms",
    "read_timeout_ms",
    "total_timeout_ms",
    "retries",
    "retry_on",
    "retry_non_idempotent",
    "max_body_bytes",
)


class ApiVersion(models.Model):
    api = models.ForeignKey(Api, on_delete=models.CASCADE, related_name="versions")
    label = models.CharField(max_length=40)
    base_path = models.CharField(max_length=200, validators=[base_path_validator])
    host = models.CharField(max_length=255, blank=True, help_text="Empty matches any Host")
    openapi_source = models.TextField(blank=True, help_text="The document exactly as uploaded")
    openapi_format = models.CharField(
        max_length=4, choices=DocumentFormat.choices, default=DocumentFormat.JSON
    )
    openapi_document = models.JSONField(default=dict, blank=True, help_text="Parsed form")
    openapi_version = models.CharField(max_length=10, blank=True)
    state = models.CharField(max_length=10, choices=Lifecycle.choices, default=Lifecycle.DRAFT)
    sunset_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    deprecated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    upstream_service = models.ForeignKey(
        "registry.Service",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="api_versions",
    )
    upstream_path = models.CharField(
        max_length=200, default="/", help_text="Prefix on the upstream that replaces the base path"
    )
    auth_mode = models.CharField(max_length=16, choices=AuthMode.choices, default=AuthMode.KEY)
    allow_key_in_query = models.BooleanField(default=False)
    connect_timeout_ms = models.PositiveIntegerField(
        default=2000, validators=[MinValueValidator(1)]
    )
    read_timeout_ms = models.PositiveIntegerField(default=30000, validators=[MinValueValidator(1)])
    total_timeout_ms = models.PositiveIntegerField(default=60000, validators=[MinValueValidator(1)])
    retries = models.PositiveSmallIntegerField(default=2)
    retry_on = models.JSONField(
        default=list,
        blank=True,
        help_text="Causes to retry: connect-failure, 502, 503, 504, timeout",
    )
    retry_non_idempotent = models.BooleanField(default=False)
    max_body_bytes = models.PositiveBigIntegerField(default=10 * 1024 * 1024)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["api__slug", "label"]
        constraints = [
            models.UniqueConstraint(fields=["api", "label"], name="apiversion_unique_label"),
            models.UniqueConstraint(fields=["host", "base_path"], name="apiversion_unique_mount"),
        ]

    def __str__(self) -> str:
        return f"{self.api.slug} {self.label}"

    def clean(self) -> None:
        if self.state != Lifecycle.DRAFT and self.upstream_service_id is None:
            raise ValidationError(
                {"upstream_service": "a published version needs an upstream service"}
            )
        if self.read_timeout_ms > self.total_timeout_ms:
            raise ValidationError({"read_timeout_ms": "must not exceed total_timeout_ms"})

    @property
    def is_live(self) -> bool:
        """Whether the gateway should know this version at all."""
        return self.state != Lifecycle.DRAFT


class Route(models.Model):
    """One operation of a version: method + path template, from the OpenAPI paths."""

    version = models.ForeignKey(ApiVersion, on_delete=models.CASCADE, related_name="routes")
    method = models.CharField(max_length=7, choices=HttpMethod.choices)
    path_template = models.CharField(max_length=500)
    operation_id = models.CharField(max_length=200, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    auth_mode = models.CharField(
        max_length=16, choices=RouteAuth.choices, default=RouteAuth.INHERIT, blank=True
    )
    scopes = models.JSONField(default=list, blank=True)
    timeout_ms = models.PositiveIntegerField(null=True, blank=True)
    max_body_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["version_id", "path_template", "method"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "method", "path_template"], name="route_unique_operation"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path_template}"

    @property
    def effective_auth_mode(self) -> str:
        return self.auth_mode or self.version.auth_mode


class Plan(models.Model):
    """Limits a subscription buys: rates, quotas, burst."""

    api = models.ForeignKey(Api, on_delete=models.CASCADE, related_name="plans")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100)
    description = models.TextField(blank=True)
    requests_per_second = models.PositiveIntegerField(null=True, blank=True)
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    quota_per_day = models.PositiveIntegerField(null=True, blank=True)
    quota_per_month = models.PositiveIntegerField(null=True, blank=True)
    burst = models.PositiveIntegerField(null=True, blank=True)
    approval_required = models.BooleanField(default=False)
    redis_down_policy = models.CharField(
        max_length=12, choices=RedisDownPolicy.choices, default=RedisDownPolicy.LOCAL
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["api__slug", "slug"]
        constraints = [models.UniqueConstraint(fields=["api", "slug"], name="plan_unique_slug")]

    def __str__(self) -> str:
        return f"{self.api.slug}/{self.slug}"


class Application(models.Model):
    """A developer's client program; it holds subscriptions, keys and OAuth2 clients."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="applications"
    )
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="application_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="subscriptions"
    )
    api_version = models.ForeignKey(
        ApiVersion, on_delete=models.CASCADE, related_name="subscriptions"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(
        max_length=10, choices=SubscriptionStatus.choices, default=SubscriptionStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "api_version"],
                condition=models.Q(status__in=["pending", "approved"]),
                name="subscription_one_open_per_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application} -> {self.api_version} ({self.status})"

    def clean(self) -> None:
        if self.plan_id and self.api_version_id and self.plan.api_id != self.api_version.api_id:
            raise ValidationError({"plan": "the plan belongs to another API"})


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def usable(self, at: timezone.datetime | None = None) -> ApiKeyQuerySet:
        now = at or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )

    def for_key(self, raw: str) -> ApiKey | None:
        """The usable key whose full string is `raw`; None if unknown, wrong, expired or revoked."""
        from apis.services.keys import find_api_key  # the key format lives with the key services

        return find_api_key(self, raw)


class ApiKey(models.Model):
    """Only the prefix and a SHA-256 of the full key are kept; the key is shown once."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=32, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}…"

    def is_usable(self, at: timezone.datetime | None = None) -> bool:
        now = at or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class OAuthClient(models.Model):
    """Links a django-oauth-toolkit application to the MeshGate application that owns it."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="oauth_clients"
    )
    client = models.OneToOneField(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="meshgate_client"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "OAuth2 client"

    def __str__(self) -> str:
        return f"{self.application}: {self.client.client_id}"


class RevokedToken(models.Model):
    """A revoked JWT access token, kept until it would have expired anyway."""

    jti = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"revoked {self.jti}"


class IssuedToken(models.Model):
    """The jti of a JWT access token that DOT keeps only as a digest (RFC 9700 storage).

    Without it a revoked token could not be named to the gateways: DOT deletes the row
    on revocation, and the row holds no plaintext token to read the jti from.
    """

    access_token = models.OneToOneField(
        settings.OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL,
        on_delete=models.CASCADE,
        related_name="meshgate_jti",
    )
    jti = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.jti
