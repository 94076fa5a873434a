"""The OpenAPI rules a JSON Schema cannot express, checked on plain dicts.

openapi-spec-validator checks the same rules (plus default values and 3.1 schema
dialects), but through jsonschema-path, at about 1 ms per operation and per 3.1
schema: 6-8 s for a 5 MB document. These run in milliseconds at any size, with the
library's wording; the library's own pass is added for documents small enough.
"""

from __future__ import annotations

import re
from typing import Any

from apis.services.openapi_checks import Finding, resolver_for
from apis.services.openapi_operations import METHODS, follow_ref
from apis.services.openapi_source import PathPart

_TEMPLATE_PARAM = re.compile(r"{([^{}]+)}")
Parameters = list[tuple[int, dict[str, Any]]]


def check_rules(document: dict[str, Any]) -> list[Finding]:
    """Unique operationIds, parameters and tags; path parameters match the path template."""
    resolver = resolver_for(document)
    operation_ids: set[str] = set()
    findings = _duplicate_tags(document.get("tags") or [])
    for url, raw_item in (document.get("paths") or {}).items():
        item = follow_ref(raw_item, resolver)
        shared = _parameters(item.get("parameters"), resolver)
        findings += _duplicate_parameters(shared, ("paths", url, "parameters"))
        for method in METHODS:
            if isinstance(item.get(method), dict):
                here: tuple[PathPart, ...] = ("paths", url, method)
                findings += _operation(item[method], here, shared, operation_ids, resolver)
    return findings


def _operation(
    operation: dict[str, Any],
    here: tuple[PathPart, ...],
    shared: Parameters,
    operation_ids: set[str],
    resolver: Any,
) -> list[Finding]:
    url, method = str(here[1]), str(here[2])
    own = _parameters(operation.get("parameters"), resolver)
    findings = _duplicate_parameters(own, here + ("parameters",))
    operation_id = operation.get("operationId")
    if operation_id in operation_ids:
        findings.append(
            (here, f"Operation ID '{operation_id}' for '{method}' in '{url}' is not unique")
        )
    elif operation_id is not None:
        operation_ids.add(operation_id)
    declared = {param.get("name") for _index, param in shared + own if param.get("in") == "path"}
    in_template = set(_TEMPLATE_PARAM.findall(url))
    for name in sorted(in_template ^ declared, key=str):
        findings.append(
            (here, f"Path parameter '{name}' for '{method}' operation in '{url}' was not resolved")
        )
    return findings


def _parameters(raw: Any, resolver: Any) -> Parameters:
    return [(index, follow_ref(param, resolver)) for index, param in enumerate(raw or [])]


def _duplicate_parameters(parameters: Parameters, here: tuple[PathPart, ...]) -> list[Finding]:
    seen: set[tuple[Any, Any]] = set()
    findings: list[Finding] = []
    for index, param in parameters:
        key = (param.get("name"), param.get("in"))
        if key in seen:
            findings.append((here + (index,), f"Duplicate parameter '{key[0]}'"))
        seen.add(key)
    return findings


def _duplicate_tags(tags: list[Any]) -> list[Finding]:
    names = [tag.get("name") if isinstance(tag, dict) else None for tag in tags]
    return [
        (("tags", index), f"Duplicate tag name '{name}'")
        for index, name in enumerate(names)
        if name is not None and name in names[:index]
    ]
