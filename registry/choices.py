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
