"""Per-route overrides in a catalogue file, checked against the version's OpenAPI document."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

from apis.catalog_io.errors import AlreadyReported, Problem
from apis.catalog_io.fields import convert_value
from apis.catalog_io.schema import ROUTE_DEFAULTS, ROUTE_OVERRIDES
from apis.catalog_io.yaml_source import child_path
from apis.choices import HttpMethod
from apis.models import Route
from apis.services.openapi import OpenApiError, Operation, parse_openapi
from apis.services.openapi_sync import derived_fields

if TYPE_CHECKING:
    from apis.catalog_io.validate import CatalogValidator

_ROUTE_KEY = re.compile(r"^(?P<method>[A-Z]+) (?P<path>/\S*)$")


def route_key(method: str, path_template: str) -> str:
    return f"{method} {path_template}"


def route_baselines(operations: list[Operation]) -> dict[str, dict[str, Any]]:
    """Each route as the document alone makes it; an override is what differs from this."""
    return {
        route_key(*operation.key): {
            **ROUTE_DEFAULTS,
            **{k: v for k, v in derived_fields(operation).items() if k in ROUTE_OVERRIDES},
        }
        for operation in operations
    }


def overrides_of(values: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value != baseline[name]}


class RouteChecker:
    def __init__(self, validator: CatalogValidator) -> None:
        self.validator = validator

    def overrides(self, value: Any, path: str) -> dict[str, dict[str, Any]]:
        """`{"GET /items": {"auth_mode": "public"}}`; ValueError if unusable."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError("must be a mapping of 'METHOD /path' to overrides")
        result, valid = {}, True
        for key, entry in value.items():
            fields = self.entry(key, entry, child_path(path, key))
            valid = valid and fields is not None
            if fields:
                result[key] = fields
        if not valid:
            raise AlreadyReported
        return dict(sorted(result.items(), key=lambda item: _order(item[0])))

    def entry(self, key: str, entry: Any, path: str) -> dict[str, Any] | None:
        match = _ROUTE_KEY.match(key)
        if match is None or match["method"] not in HttpMethod.values:
            self.validator.problem(path, "route keys look like 'GET /items/{id}'")
            return None
        if not isinstance(entry, dict):
            self.validator.problem(
                path, f"must be a mapping with some of {', '.join(ROUTE_OVERRIDES)}"
            )
            return None
        return self.values(entry, path)

    def values(self, entry: dict[str, Any], path: str) -> dict[str, Any] | None:
        values, valid = {}, True
        for name, value in entry.items():
            here = child_path(path, name)
            if name not in ROUTE_OVERRIDES:
                self.validator.problem(
                    here, f"unknown field; expected one of {', '.join(ROUTE_OVERRIDES)}"
                )
                valid = False
                continue
            try:
                values[name] = self.value(name, value)
            except (ValueError, ValidationError) as exc:
                self.validator.problem(here, _message(exc))
                valid = False
        return values if valid else None

    def value(self, name: str, value: Any) -> Any:
        field = Route._meta.get_field(name)
        value = convert_value(field, value)  # type: ignore[arg-type]
        if name == "scopes" and not all(isinstance(scope, str) for scope in value):
            raise ValueError("must be a list of scope names")
        field.clean(value, None)  # type: ignore[union-attr]
        return value

    def check_document(self, record: dict[str, Any], path: str) -> None:
        """The OpenAPI source parses, and every override names one of its operations."""
        here = child_path(path, "openapi")
        operations: list[Operation] = []
        if record["openapi"]:
            try:
                parsed = parse_openapi(record["openapi"])
            except OpenApiError as exc:
                self.document_problems(exc, here)
                return
            operations = parsed.operations
        known = route_baselines(operations)
        for key in record["routes"]:
            if key not in known:
                self.validator.problem(
                    child_path(child_path(path, "routes"), key),
                    "no such operation in the OpenAPI document",
                )
        overrides = {
            key: overrides_of(values, known[key])
            for key, values in record["routes"].items()
            if key in known
        }
        record["routes"] = {key: values for key, values in overrides.items() if values}

    def document_problems(self, exc: OpenApiError, path: str) -> None:
        start = self.validator.source.block_starts.get(path)
        for problem in exc.problems:
            line = (
                start + problem.line - 1
                if start and problem.line
                else self.validator.source.line(path)
            )
            self.validator.problems.append(
                Problem(path, line, f"{problem.path}: {problem.message}")
            )


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(message.rstrip(".") for message in exc.messages)
    return str(exc)


def _order(key: str) -> tuple[str, str]:
    method, _, path = key.partition(" ")
    return path, method
