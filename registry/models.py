from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from registry.choices import CheckType, HashOn, Health, InstanceState, LbAlgorithm, Scheme

# RFC 7230 token: what a header name (and an RFC 6265 cookie name) may be made of.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
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


# How a service is checked and balanced, as an operator tunes it. The REST API and the
# catalogue YAML read this one list.
SERVICE_SETTINGS = (
    "check_type",
    "check_method",
    "check_path",
    "check_expected_statuses",
    "check_body_contains",
    "check_headers",
    "check_tls_verify",
    "check_interval_seconds",
    "check_timeout_seconds",
    "healthy_threshold",
    "unhealthy_threshold",
    "heartbeat_ttl_seconds",
    "deregister_after_seconds",
    "lb_algorithm",
    "hash_on",
    "hash_key",
    "max_in_flight",
)


class Service(models.Model):
    """An upstream service: a named pool of instances and how to check them."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="services",
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
    heartbeat_ttl_seconds = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1)]
    )
    deregister_after_seconds = models.PositiveIntegerField(
        default=600, validators=[MinValueValidator(1)]
    )
    # How gateways balance this service (compiled into the snapshot's upstream entry).
    lb_algorithm = models.CharField(
        "load-balancing algorithm",
        max_length=16,
        choices=LbAlgorithm.choices,
        default=LbAlgorithm.LEAST_REQUEST,
    )
    hash_on = models.CharField(
        "hash on",
        max_length=8,
        choices=HashOn.choices,
        default=HashOn.NONE,
        help_text="The consistent hash's key; only with the consistent_hash algorithm.",
    )
    hash_key = models.CharField(
        "hash key",
        max_length=100,
        blank=True,
        help_text="The header or cookie name when hashing on a header or a cookie.",
    )
    max_in_flight = models.PositiveIntegerField(
        "max requests in flight",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(1_000_000)],
        help_text="Per gateway worker; excess requests get 503 at once. Empty: gateway default.",
    )
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
            raise ValidationError(
                {"check_timeout_seconds": "must be shorter than the check interval"}
            )
        if not isinstance(self.check_headers, dict):
            raise ValidationError({"check_headers": "must be an object of header names to values"})
        if self.deregister_after_seconds < self.heartbeat_ttl_seconds:
            raise ValidationError(
                {"deregister_after_seconds": "must not be shorter than the heartbeat TTL"}
            )
        self._clean_balancing()

    def _clean_balancing(self) -> None:
        # All problems at once: switching algorithm in a form often touches all three fields.
        errors: dict[str, str] = {}
        hashing = self.lb_algorithm == LbAlgorithm.CONSISTENT_HASH
        named = self.hash_on in (HashOn.HEADER, HashOn.COOKIE)
        if hashing and self.hash_on == HashOn.NONE:
            errors["hash_on"] = "consistent_hash needs a key: header, cookie or ip"
        elif not hashing and self.hash_on != HashOn.NONE:
            errors["hash_on"] = "only the consistent_hash algorithm uses a key; choose none"
        if named and not self.hash_key:
            errors["hash_key"] = f"name the {self.hash_on} to hash on"
        elif named and not _TOKEN.fullmatch(self.hash_key):
            # Header and cookie names are both RFC 7230 tokens (RFC 6265: cookie-name = token).
            errors["hash_key"] = (
                f"'{self.hash_key}' is not a valid {self.hash_on} name (an RFC 7230 token: "
                "letters, digits and !#$%&'*+-.^_`|~)"
            )
        elif not named and self.hash_key:
            errors["hash_key"] = "only hashing on a header or a cookie uses a name; leave it empty"
        if errors:
            raise ValidationError(errors)

    @property
    def expected_status_ranges(self) -> list[tuple[int, int]]:
        return parse_status_spec(self.check_expected_statuses)


class Instance(models.Model):
    """One address that serves a Service."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="instances")
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(65535)])
    scheme = models.CharField(max_length=5, choices=Scheme.choices, default=Scheme.HTTP)
    weight = models.PositiveIntegerField(
        default=100, validators=[MinValueValidator(1), MaxValueValidator(10000)]
    )
    zone = models.CharField(max_length=64, blank=True)
    tags = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.UNKNOWN)
    draining = models.BooleanField(default=False)
    state_changed_at = models.DateTimeField(default=timezone.now)
    state_reason = models.CharField(max_length=300, blank=True)
    self_registered = models.BooleanField(default=False)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The latest probe result, written in bulk by the health workers (registry/health/).
    last_check_at = models.DateTimeField(null=True, blank=True)
    last_check_ok = models.BooleanField(null=True, blank=True)
    last_check_ms = models.FloatField(null=True, blank=True)
    last_check_reason = models.CharField(max_length=300, blank=True)
    # Consecutive results of one kind: +n passes or -n failures (the hysteresis counter).
    check_streak = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["service_id", "host", "port"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "host", "port"], name="instance_unique_address"
            ),
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

    def is_stale(self, now: datetime, intervals: int = 3) -> bool:
        """No check result for `intervals` check intervals: the checker is not reaching it.

        A new instance gets the same grace from its creation; self-registered instances of
        a service that is not probed are judged by their heartbeats, never stale here.
        """
        since = self.last_check_at or self.created_at
        if since is None:
            return False
        return now - since > timedelta(seconds=intervals * self.service.check_interval_seconds)


class HealthMinute(models.Model):
    """One instance's checks in one UTC minute: the compact history kept for RETENTION_DAYS."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="health_minutes")
    minute = models.DateTimeField()
    checks = models.PositiveIntegerField()
    successes = models.PositiveIntegerField()
    # Latency percentiles of the successful checks (None when none succeeded).
    p50_ms = models.FloatField(null=True)
    p95_ms = models.FloatField(null=True)
    p99_ms = models.FloatField(null=True)

    class Meta:
        ordering = ["instance_id", "minute"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "minute"], name="health_minute_unique"),
        ]
        indexes = [models.Index(fields=["minute"], name="health_minute_time")]

    def __str__(self) -> str:
        return f"instance {self.instance_id} at {self.minute:%Y-%m-%d %H:%M}"

    @property
    def success_ratio(self) -> float:
        return self.successes / self.checks if self.checks else 0.0


class Ejection(models.Model):
    """A passive-health ejection a gateway reported (contracts §3), and the checker's verdict."""

    class Verdict(models.TextChoices):
        PENDING = "", "Not probed yet"
        CONFIRMED = "confirmed", "Confirmed: the probe failed"
        CLEARED = "cleared", "Cleared: the probe passed"

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="ejections")
    gateway = models.CharField(max_length=200)
    reason = models.CharField(max_length=300, blank=True)
    ejected_at = models.DateTimeField()
    until = models.DateTimeField()
    count = models.PositiveIntegerField(default=1)
    restored_at = models.DateTimeField(null=True, blank=True)
    verdict = models.CharField(max_length=10, choices=Verdict.choices, blank=True, default="")
    verdict_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-ejected_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "gateway", "ejected_at"], name="ejection_unique_report"
            ),
        ]
        indexes = [models.Index(fields=["restored_at"], name="ejection_open")]

    def __str__(self) -> str:
        return f"instance {self.instance_id} ejected by {self.gateway}"
