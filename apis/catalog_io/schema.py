"""What a catalogue file holds: one Kind per record type, and how a field's value
moves between the model and the file.

Only configuration is here. Owners, timestamps, health, tokens, applications and keys
stay out: a git-kept file must hold neither secrets nor developer data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apis.models import VERSION_PROXY_SETTINGS, Api, ApiVersion, Plan, Route
from apis.services import catalogue
from registry.models import SERVICE_SETTINGS, Instance, Service

FORMAT_VERSION = 1
# Route fields a file may override (method and path come from the OpenAPI document).
ROUTE_OVERRIDES = catalogue.ROUTE_OVERRIDES


def _route_default(name: str) -> Any:
    field = Route._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field.get_default()


ROUTE_DEFAULTS = {name: _route_default(name) for name in ROUTE_OVERRIDES}


@dataclass(frozen=True)
class Kind:
    name: str
    model: type[models.Model]
    key: tuple[str, ...]
    fields: tuple[str, ...]
    children: tuple[str, ...] = ()
    # File names that differ from the model attribute.
    renames: tuple[tuple[str, str], ...] = ()

    def attr(self, name: str) -> str:
        return dict(self.renames).get(name, name)

    def file_name(self, attr: str) -> str:
        return {a: f for f, a in self.renames}.get(attr, attr)

    @property
    def all_fields(self) -> tuple[str, ...]:
        return self.key + self.fields


INSTANCE = Kind(
    "instance", Instance, ("host", "port"), ("scheme", "weight", "zone", "tags", "metadata")
)
SERVICE = Kind(
    "service",
    Service,
    ("slug",),
    (
        "name",
        "description",
        *SERVICE_SETTINGS,
    ),
    ("instances",),
)
PLAN = Kind(
    "plan",
    Plan,
    ("slug",),
    (
        "name",
        "description",
        "requests_per_second",
        "requests_per_minute",
        "quota_per_day",
        "quota_per_month",
        "burst",
        "approval_required",
        "redis_down_policy",
        "is_active",
    ),
)
VERSION = Kind(
    "version",
    ApiVersion,
    ("label",),
    (
        "state",
        "sunset_at",
        "base_path",
        "host",
        "upstream_service",
        *VERSION_PROXY_SETTINGS,
        "routes",
        "openapi",
    ),
    renames=(("openapi", "openapi_source"),),
)
API = Kind("api", Api, ("slug",), ("name", "description"), ("plans", "versions"))
CHILD_KINDS = {"instances": INSTANCE, "plans": PLAN, "versions": VERSION}


def format_datetime(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def parse_file_datetime(value: Any) -> dt.datetime:
    """A YAML timestamp or an ISO 8601 string with a zone -> aware datetime."""
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            raise ValueError("must be an ISO 8601 date-time such as 2027-01-31T00:00:00Z")
        value = parsed
    if not isinstance(value, dt.datetime):
        raise ValueError("must be an ISO 8601 date-time such as 2027-01-31T00:00:00Z")
    if timezone.is_naive(value):
        raise ValueError("must include a time zone, e.g. a trailing Z for UTC")
    return value


def model_field(kind: Kind, name: str) -> models.Field[Any, Any]:
    return kind.model._meta.get_field(kind.attr(name))  # type: ignore[return-value]


def field_default(kind: Kind, name: str) -> Any:
    """The value a missing key stands for, in file form."""
    if name == "routes":
        return {}
    default = model_field(kind, name).get_default()
    return format_datetime(default) if isinstance(default, dt.datetime) else default
