from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from registry.choices import CheckType, Health, InstanceState, Scheme

_STATUS_SPEC = re.compile(r"^\s*\d{3}(\s*-\s*\d{3})?(\s*,\s*\d{3}(\s*-\s*\d{3})?)*\s*$")


def parse_status_spec(spec: str) -> list[tuple[int, int]]:
    """'200-299,301' -> [(200, 299), (301, 301)]; raises ValueError on bad input."""
    if not _STATUS_SPEC.match(spec):
        raise ValueError("use status codes and ranges such as '200-299,301'")
    ranges: list[tuple[int, int]] = []
    for part in spec.split(","):
        low, _, high = part.strip().partition("-")
        start, end = int(low), int(high or low)
        if not (100 <= start <= end <= 599):
            raise ValueError(f"'{part.strip()}' is not a range of HTTP statuses (100-599)")
        ranges.append((start, end))
    return ranges


class Service(models.Model):
    """An upstream service: a named pool of instances and how to check them."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="services"
    )
    check_type = models.CharField(max_length=8, choices=CheckType.choices, default=CheckType.HTTP)
    check_method = models.CharField(max_length=8, default="GET")
    check_path = models.CharField(max_length=300, default="/health")
    check_expected_statuses = models.CharField(max_length=100, default="200-399")
    check_body_contains = models.CharField(max_length=200, blank=True)
    check_headers = models.JSONField(default=dict, blank=True)
    check_tls_verify = models.BooleanField(default=True)
    check_interval_seconds = models.FloatField(
        default=10.0, validators=[MinValueValidator(0.5), MaxValueValidator(3600)]
    )
    check_timeout_seconds = models.FloatField(
        default=2.0, validators=[MinValueValidator(0.05), MaxValueValidator(300)]
    )
    healthy_threshold = models.PositiveSmallIntegerField(
        default=2, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    unhealthy_threshold = models.PositiveSmallIntegerField(
        default=3, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    # Consul-style self-registration: an instance that stops heartbeating for
    # heartbeat_ttl goes unhealthy, and is removed after deregister_after.
    heartbeat_ttl_seconds = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1)])
    deregister_after_seconds = models.PositiveIntegerField(default=600, validators=[MinValueValidator(1)])
    registration_token_prefix = models.CharField(max_length=32, blank=True, db_index=True)
    registration_token_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        try:
            parse_status_spec(self.check_expected_statuses)
        except ValueError as exc:
            raise ValidationError({"check_expected_statuses": str(exc)}) from None
        if self.check_timeout_seconds >= self.check_interval_seconds:
            raise ValidationError({"check_timeout_seconds": "must be shorter than the check interval"})
        if not isinstance(self.check_headers, dict):
            raise ValidationError({"check_headers": "must be an object of header names to values"})
        if self.deregister_after_seconds < self.heartbeat_ttl_seconds:
            raise ValidationError(
                {"deregister_after_seconds": "must not be shorter than the heartbeat TTL"}
            )

    @property
    def expected_status_ranges(self) -> list[tuple[int, int]]:
        return parse_status_spec(self.check_expected_statuses)


class Instance(models.Model):
    """One address that serves a Service."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="instances")
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(65535)])
    scheme = models.CharField(max_length=5, choices=Scheme.choices, default=Scheme.HTTP)
    weight = models.PositiveIntegerField(default=100, validators=[MinValueValidator(1), MaxValueValidator(10000)])
    zone = models.CharField(max_length=64, blank=True)
    tags = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.UNKNOWN)
    draining = models.BooleanField(default=False)
    state_changed_at = models.DateTimeField(default=timezone.now)
    state_reason = models.CharField(max_length=300, blank=True)
    self_registered = models.BooleanField(default=False)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["service_id", "host", "port"]
        constraints = [
            models.UniqueConstraint(fields=["service", "host", "port"], name="instance_unique_address"),
        ]

    def __str__(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def clean(self) -> None:
        if not isinstance(self.tags, list) or not all(isinstance(t, str) for t in self.tags):
            raise ValidationError({"tags": "must be a list of strings"})
        if not isinstance(self.metadata, dict):
            raise ValidationError({"metadata": "must be an object"})

    @property
    def state(self) -> str:
        return InstanceState.DRAINING if self.draining else self.health
