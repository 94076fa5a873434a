"""A parsed catalogue file -> the normalised catalogue (the shape `catalog_state` exports).

Every problem is collected with its YAML path and line before anything is written, so
one run shows all that is wrong with a file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from apis.catalog_io.errors import AlreadyReported, CatalogError, Problem
from apis.catalog_io.fields import convert_value
from apis.catalog_io.routes import RouteChecker
from apis.catalog_io.schema import (
    API,
    CHILD_KINDS,
    FORMAT_VERSION,
    SERVICE,
    VERSION,
    Kind,
    field_default,
    model_field,
    parse_file_datetime,
)
from apis.catalog_io.yaml_source import YamlSource, child_path
from apis.choices import Lifecycle
from apis.models import ApiVersion
from apis.services import catalogue, plans

Ident = tuple[Any, ...]
_TOP_KEYS = ("format_version", "services", "apis")
_SPECIAL = ("routes", "upstream_service")


class CatalogValidator:
    """Use once: `validate()` returns the catalogue, `paths` maps each record to its YAML path."""

    def __init__(self, source: YamlSource, *, known_services: set[str]) -> None:
        self.source = source
        self.known_services = set(known_services)
        self.problems: list[Problem] = list(source.problems)
        self.paths: dict[Ident, str] = {}
        self.mounts: dict[tuple[str, str], str] = {}
        self.routes = RouteChecker(self)

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, self.source.line(path), message))

    def validate(self) -> dict[str, Any]:
        top = self.source.value
        if not isinstance(top, dict):
            raise CatalogError(
                [Problem("", 1, "the file must be a mapping with format_version, services, apis")]
            )
        for key in [key for key in top if key not in _TOP_KEYS]:
            self.problem(key, f"unknown field; expected one of {', '.join(_TOP_KEYS)}")
        if top.get("format_version") != FORMAT_VERSION:
            self.problem("format_version", f"must be {FORMAT_VERSION}")
        services = self.records(top.get("services", []), "services", SERVICE, ())
        self.known_services |= {service["slug"] for service in services}
        state = {"format_version": FORMAT_VERSION, "services": services}
        state["apis"] = self.records(top.get("apis", []), "apis", API, ())
        if self.problems:
            raise CatalogError(self.problems)
        return state

    def records(self, value: Any, path: str, kind: Kind, parent: Ident) -> list[dict[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(path, "must be a list")
            return []
        found: dict[Ident, dict[str, Any]] = {}
        for index, item in enumerate(value):
            here = child_path(path, index)
            record = self.record(item, here, kind, parent)
            if record is None:
                continue
            ident = (kind.name, *parent[1:], *(record[k] for k in kind.key))
            if ident in found:
                self.problem(here, f"duplicate {kind.name}; the same one is at {self.paths[ident]}")
                continue
            found[ident], self.paths[ident] = record, here
        return [found[ident] for ident in sorted(found, key=_sort_key)]

    def record(self, item: Any, path: str, kind: Kind, parent: Ident) -> dict[str, Any] | None:
        if not isinstance(item, dict):
            self.problem(path, f"each {kind.name} must be a mapping")
            return None
        allowed = kind.all_fields + kind.children
        for key in [key for key in item if key not in allowed]:
            self.problem(
                child_path(path, key), f"unknown field; expected one of {', '.join(allowed)}"
            )
        for key in kind.key:
            if key not in item:
                self.problem(path, f"'{key}' is required")
        record = self.fields(item, path, kind)
        if record is None or any(key not in item for key in kind.key):
            return None
        self.check_model(record, path, kind)
        ident = (kind.name, *parent[1:], *(record[k] for k in kind.key))
        for child in kind.children:
            record[child] = self.records(
                item.get(child), child_path(path, child), CHILD_KINDS[child], ident
            )
        if kind is VERSION:
            self.check_version(record, path)
        return record

    def fields(self, item: dict[str, Any], path: str, kind: Kind) -> dict[str, Any] | None:
        record, valid = {}, True
        for name in kind.all_fields:
            here = child_path(path, name)
            try:
                record[name] = (
                    self.value(kind, name, item[name], here)
                    if name in item
                    else field_default(kind, name)
                )
            except AlreadyReported:
                valid = False
            except ValueError as exc:
                self.problem(here, str(exc))
                valid = False
        return record if valid else None

    def value(self, kind: Kind, name: str, value: Any, path: str) -> Any:
        if name == "routes":
            return self.routes.overrides(value, path)
        if name == "upstream_service":
            if value is not None and not isinstance(value, str):
                raise ValueError("must be the slug of a service")
            return value
        return convert_value(model_field(kind, name), value)

    def check_model(self, record: dict[str, Any], path: str, kind: Kind) -> None:
        """The model's own validators and clean(); relations are checked elsewhere."""
        obj = kind.model(**_model_values(record, kind))
        if kind is VERSION and record["upstream_service"] is not None:
            # Stands in for the referenced service, which may not exist until the import runs.
            obj.upstream_service_id = -1  # type: ignore[attr-defined]
        relations = [f.name for f in kind.model._meta.fields if f.is_relation]
        try:
            obj.full_clean(exclude=relations, validate_unique=False, validate_constraints=False)
            _EXTRA_CHECKS.get(kind.name, _no_check)(obj)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                here = (
                    path if field == NON_FIELD_ERRORS else child_path(path, kind.file_name(field))
                )
                for message in messages:
                    self.problem(here, message.rstrip("."))

    def check_version(self, record: dict[str, Any], path: str) -> None:
        service = record["upstream_service"]
        if service is not None and service not in self.known_services:
            self.problem(
                child_path(path, "upstream_service"),
                f"unknown service '{service}'; define it under services",
            )
        if record["state"] != Lifecycle.DRAFT and not record["openapi"]:
            self.problem(child_path(path, "state"), "only a draft may lack an OpenAPI document")
        if record["state"] == Lifecycle.DEPRECATED and record["sunset_at"] is None:
            self.problem(child_path(path, "sunset_at"), "a deprecated version needs a sunset date")
        mount = (record["host"], record["base_path"])
        if mount in self.mounts:
            self.problem(
                child_path(path, "base_path"),
                f"{self.mounts[mount]} already uses this host and base path",
            )
        self.mounts.setdefault(mount, child_path(path, "base_path"))
        self.routes.check_document(record, path)


def _check_retry_on(version: ApiVersion) -> None:
    if any(cause not in catalogue.RETRY_CAUSES for cause in version.retry_on):
        raise ValidationError(
            {"retry_on": f"must be a list of: {', '.join(catalogue.RETRY_CAUSES)}"}
        )


def _no_check(obj: Any) -> None:
    return None


# Rules the catalogue services enforce beyond the model, checked here so they name a line.
_EXTRA_CHECKS: dict[str, Callable[[Any], None]] = {
    "plan": plans.check_limits,
    "version": _check_retry_on,
}


def _model_values(record: dict[str, Any], kind: Kind) -> dict[str, Any]:
    values = {kind.attr(name): value for name, value in record.items() if name in kind.all_fields}
    for name in _SPECIAL:
        values.pop(name, None)
    if values.get("sunset_at"):
        values["sunset_at"] = parse_file_datetime(values["sunset_at"])
    return values


def _sort_key(ident: Ident) -> tuple[str, ...]:
    # Exports sort instances by (host, port) with port as a number; keep that order.
    return tuple(f"{part:010d}" if isinstance(part, int) else str(part) for part in ident)
