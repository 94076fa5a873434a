from __future__ import annotations

from django.db import models


class CheckType(models.TextChoices):
    HTTP = "http", "HTTP(S) request"
    TCP = "tcp", "TCP connect"


class Health(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    HEALTHY = "healthy", "Healthy"
    UNHEALTHY = "unhealthy", "Unhealthy"


class InstanceState(models.TextChoices):
    """What the gateway sees: draining (an operator's choice) wins over health."""

    UNKNOWN = "unknown", "Unknown"
    HEALTHY = "healthy", "Healthy"
    UNHEALTHY = "unhealthy", "Unhealthy"
    DRAINING = "draining", "Draining"


class Scheme(models.TextChoices):
    HTTP = "http", "http"
    HTTPS = "https", "https"


class LbAlgorithm(models.TextChoices):
    """How a gateway spreads a service's requests over its instances."""

    LEAST_REQUEST = "least_request", "Least request (power of two choices)"
    ROUND_ROBIN = "round_robin", "Smooth weighted round robin"
    CONSISTENT_HASH = "consistent_hash", "Consistent hash (Maglev)"


class HashOn(models.TextChoices):
    """What a consistent hash is keyed on."""

    NONE = "none", "Nothing"
    HEADER = "header", "A request header"
    COOKIE = "cookie", "A cookie"
    IP = "ip", "The client IP address"
