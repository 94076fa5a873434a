"""Checks of a loaded OpenAPI document; each yields problems as (JSON path parts, message).

Order matters: the version decides the validator, and `$ref`s are checked before
the validator runs, because its resolver would otherwise fetch a remote `$ref`.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
from jsonschema.exceptions import ValidationError
from jsonschema_path import SchemaPath
from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator
from openapi_spec_validator.schemas import schema_v30, schema_v31
from openapi_spec_validator.validation.registries import KeywordValidatorRegistry
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from apis.services.openapi_source import PathPart

Finding = tuple[tuple[PathPart, ...], str]
ValidatorClass = type[OpenAPIV30SpecValidator] | type[OpenAPIV31SpecValidator]

BASE_URI = "urn:meshgate:openapi"
SWAGGER_MESSAGE = (
    "Swagger 2.0 is not supported; convert to OpenAPI 3 (for example with swagger2openapi or the "
    "Swagger Editor's 'Convert to OpenAPI 3') and upload the result"
)
_VERSION = re.compile(r"^3\.([01])\.\d+$")
_VALIDATORS: dict[str, ValidatorClass] = {
    "0": OpenAPIV30SpecValidator,
    "1": OpenAPIV31SpecValidator,
}
_SCHEMAS: dict[str, Any] = {"0": schema_v30, "1": schema_v31}
_NOT_ONE_OF = re.compile(r"^(.*) is not one of (.*)$", re.DOTALL)
_UNEXPECTED = re.compile(r"^Additional properties are not allowed \('([^']*)' was unexpected\)$")
_OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_MAX_MESSAGE = 300


def check_version(document: dict[str, Any]) -> tuple[str, list[Finding]]:
    """The minor version ("0" or "1") of the document's `openapi` field, or why there is none."""
    if "swagger" in document:
        return "", [(("swagger",), SWAGGER_MESSAGE)]
    version = document.get("openapi")
    if version is None:
        return "", [((), "missing the 'openapi' field (for example openapi: 3.1.0)")]
    match = _VERSION.match(version) if isinstance(version, str) else None
    if match is None:
        return "", [
            (("openapi",), f"unsupported version {version!r}; use 3.0.x or 3.1.x as a string")
        ]
    return match[1], []


def resolver_for(document: dict[str, Any]) -> Any:
    """A `referencing` resolver over the document alone: nothing can be retrieved from outside."""
    resource = DRAFT202012.create_resource(document)
    return Registry().with_resource(BASE_URI, resource).resolver(base_uri=BASE_URI)


def check_values(document: dict[str, Any]) -> list[Finding]:
    """External or dangling `$ref`s and values JSON cannot hold (dates, binary, NaN)."""
    refs, suspicious = _scan(document)
    resolver = resolver_for(document)
    dangling = {ref for ref in refs if not _resolves(resolver, ref)}
    if not (suspicious or dangling):
        return []
    return list(_explain(document, dangling))


def _scan(document: Any) -> tuple[set[str], bool]:
    """One quick pass without paths; the slow pass with paths runs only when needed."""
    refs: set[str] = set()
    stack = [document]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is dict:
            ref = node.get("$ref")
            if ref is not None:
                if type(ref) is not str or not ref.startswith("#"):
                    return refs, True
                refs.add(ref)
            stack.extend(node.values())
        elif kind is list:
            stack.extend(node)
        elif not _is_json_scalar(node):
            return refs, True
    return refs, False


def _is_json_scalar(value: Any) -> bool:
    if value is None or type(value) in (str, int, bool):
        return True
    return type(value) is float and math.isfinite(value)


def _resolves(resolver: Any, ref: str) -> bool:
    try:
        resolver.lookup(ref)
    except Unresolvable:
        return False
    return True


def _explain(document: Any, dangling: set[str]) -> Iterator[Finding]:
    stack: list[tuple[Any, tuple[PathPart, ...]]] = [(document, ())]
    while stack:
        node, parts = stack.pop()
        if isinstance(node, dict):
            yield from _ref_findings(node.get("$ref"), parts + ("$ref",), dangling)
            stack.extend((value, parts + (key,)) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, parts + (index,)) for index, value in enumerate(node))
        elif not _is_json_scalar(node):
            kind = type(node).__name__
            yield parts, f"{kind} values are not allowed; JSON has strings, numbers, booleans, null"


def _ref_findings(ref: Any, parts: tuple[PathPart, ...], dangling: set[str]) -> Iterator[Finding]:
    if ref is None:
        return
    if not isinstance(ref, str):
        yield parts, "$ref must be a string"
    elif not ref.startswith("#"):
        yield (
            parts,
            (
                f"external $ref {ref!r} is not supported: MeshGate never fetches other files "
                "or URLs; bundle the document into one file first"
            ),
        )
    elif ref in dangling:
        yield parts, f"$ref {ref!r} points to nothing in this document"


def check_schema(document: dict[str, Any], minor: str) -> list[Finding]:
    """Every error of the OpenAPI JSON Schema (the structure of the document).

    jsonschema-rs directly, not through the validator's wrapper: it is ~50x faster
    than jsonschema on large documents, and its errors keep the oneOf/anyOf branches
    that `_explain_schema_error` needs to say what is actually wrong.
    """
    errors = _schema_validator(minor).iter_errors(document)
    return sorted({_explain_schema_error(error) for error in errors})


@functools.cache
def _schema_validator(minor: str) -> Any:
    return jsonschema_rs.validator_for(dict(_SCHEMAS[minor]))


def _explain_schema_error(error: Any) -> Finding:
    """The deepest failure inside oneOf/anyOf branches; enum misses at one place are merged."""
    leaves = list(_leaves(error))
    depth = max(len(leaf.instance_path) for leaf in leaves)
    deepest = [leaf for leaf in leaves if len(leaf.instance_path) == depth]
    misses = [_NOT_ONE_OF.match(leaf.message) for leaf in deepest]
    if len(deepest) > 1 and all(misses):
        allowed = ", ".join(dict.fromkeys(match[2] for match in misses if match))
        message = f"{misses[0][1]} is not one of {allowed}"  # type: ignore[index]
    else:
        message = _shorten(deepest[0].message)
    return _pointing_at_unexpected(tuple(deepest[0].instance_path), message)


def _leaves(error: Any) -> Iterator[Any]:
    branches = getattr(error.kind, "context", None)
    if not branches:
        yield error
        return
    for branch in branches:
        for inner in branch:
            yield from _leaves(inner)


def _pointing_at_unexpected(parts: tuple[PathPart, ...], message: str) -> Finding:
    # "Additional properties are not allowed ('x' was unexpected)": point at x itself.
    match = _UNEXPECTED.match(message)
    return (parts + (match[1],), message) if match else (parts, message)


def check_semantics(document: dict[str, Any], minor: str) -> list[Finding]:
    """openapi-spec-validator's keyword checks (operationIds, path parameters, defaults).

    Run per path item, operation and component so that each error can name where
    it is: the library's own errors carry a message but no location. They assume
    a structurally valid document, so callers run them only after check_schema.
    """
    # Any: the registry's values are typed as the base class, which is not callable.
    registry: Any = KeywordValidatorRegistry(_VALIDATORS[minor].keyword_validators)
    root = SchemaPath.from_dict(document, base_uri=BASE_URI, handlers={})
    findings: list[Finding] = []
    if "tags" in document:
        findings += _collect(("tags",), registry["tags"](root / "tags"))
    if "paths" in document:
        for url, item in (root / "paths").items():
            findings += _path_item(registry, str(url), item)
    if "schemas" in document.get("components", {}):
        for name, schema in (root / "components" / "schemas").items():
            findings += _collect(("components", "schemas", str(name)), registry["schema"](schema))
    return findings


def _path_item(registry: Any, url: str, item: SchemaPath) -> list[Finding]:
    here: tuple[PathPart, ...] = ("paths", url)
    shared = item / "parameters" if "parameters" in item else None
    findings = _collect(here + ("parameters",), registry["parameters"](shared)) if shared else []
    for method in _OPERATIONS:
        if method in item:
            errors = registry["operation"](url, method, item / method, shared)
            findings += _collect(here + (method,), errors)
    return findings


def _collect(parts: tuple[PathPart, ...], errors: Iterator[ValidationError]) -> list[Finding]:
    return [(parts + tuple(error.absolute_path), _message(error)) for error in errors]


def _message(error: ValidationError) -> str:
    return _shorten(error.message)


def _shorten(message: str) -> str:
    # Messages quote the offending value, which can be a whole subtree of a large document.
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"
