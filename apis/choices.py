from __future__ import annotations

from django.db import models


class Lifecycle(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    DEPRECATED = "deprecated", "Deprecated"
    RETIRED = "retired", "Retired"


# The lifecycle only moves forward; each state lists where it may go next.
LIFECYCLE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    Lifecycle.DRAFT: (Lifecycle.PUBLISHED,),
    Lifecycle.PUBLISHED: (Lifecycle.DEPRECATED, Lifecycle.RETIRED),
    Lifecycle.DEPRECATED: (Lifecycle.RETIRED,),
    Lifecycle.RETIRED: (),
}


class AuthMode(models.TextChoices):
    KEY = "key", "API key"
    OAUTH2 = "oauth2", "OAuth2 bearer token"
    KEY_OR_OAUTH2 = "key_or_oauth2", "API key or OAuth2"
    PUBLIC = "public", "Public (no authentication)"


class RouteAuth(models.TextChoices):
    INHERIT = "", "Inherit from the version"
    KEY = "key", "API key"
    OAUTH2 = "oauth2", "OAuth2 bearer token"
    KEY_OR_OAUTH2 = "key_or_oauth2", "API key or OAuth2"
    PUBLIC = "public", "Public (no authentication)"


class HttpMethod(models.TextChoices):
    GET = "GET"
    PUT = "PUT"
    POST = "POST"
    DELETE = "DELETE"
    OPTIONS = "OPTIONS"
    HEAD = "HEAD"
    PATCH = "PATCH"
    TRACE = "TRACE"


class DocumentFormat(models.TextChoices):
    JSON = "json", "JSON"
    YAML = "yaml", "YAML"


class SubscriptionStatus(models.TextChoices):
    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    REVOKED = "revoked", "Revoked"


class RedisDownPolicy(models.TextChoices):
    LOCAL = "local", "Enforce per-gateway local limits"
    FAIL_CLOSED = "fail_closed", "Refuse requests (fail closed)"
