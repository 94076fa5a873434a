"""The operations of a checked OpenAPI document: what becomes a Route."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apis.services.openapi_checks import resolver_for

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_OAUTH_TYPES = ("oauth2", "openIdConnect")
_MAX_REF_HOPS = 32


@dataclass(frozen=True)
class Operation:
    method: str  # upper case, as Route.method stores it
    path_template: str  # keeps the `{param}` syntax of the document
    operation_id: str = ""
    summary: str = ""
    scopes: list[str] = field(default_factory=list)
    public: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path_template


def derive_operations(document: dict[str, Any]) -> list[Operation]:
    """One Operation per method of every path item, `$ref`s followed."""
    resolver = resolver_for(document)
    oauth_schemes = _oauth_schemes(document, resolver)
    default_security = document.get("security")
    operations = []
    for template, raw_item in (document.get("paths") or {}).items():
        item = follow_ref(raw_item, resolver)
        for method in METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                security = operation.get("security", default_security)
                operations.append(_operation(method, template, operation, security, oauth_schemes))
    return operations


def _operation(
    method: str, template: str, operation: dict[str, Any], security: Any, oauth_schemes: set[str]
) -> Operation:
    return Operation(
        method=method.upper(),
        path_template=template,
        operation_id=str(operation.get("operationId") or "")[:200],
        summary=str(operation.get("summary") or "")[:300],
        scopes=_scopes(security, oauth_schemes),
        public=_is_public(security),
    )


def _is_public(security: Any) -> bool:
    # `[]` switches authentication off; an empty requirement `{}` makes it optional,
    # which a gateway cannot enforce either.
    return isinstance(security, list) and (not security or {} in security)


def _scopes(security: Any, oauth_schemes: set[str]) -> list[str]:
    """Scopes of the first alternative that asks for OAuth2 scopes.

    Requirements in the list are alternatives (OR); a route holds one scope list,
    so the first alternative that names scopes is the one the gateway enforces.
    """
    for requirement in security if isinstance(security, list) else []:
        scopes = [
            scope
            for name, wanted in requirement.items()
            if name in oauth_schemes
            for scope in wanted
        ]
        if scopes:
            return list(dict.fromkeys(scopes))
    return []


def _oauth_schemes(document: dict[str, Any], resolver: Any) -> set[str]:
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    return {
        name
        for name, scheme in schemes.items()
        if follow_ref(scheme, resolver).get("type") in _OAUTH_TYPES
    }


def follow_ref(node: Any, resolver: Any) -> dict[str, Any]:
    """The object a `$ref` points to; sibling fields of the `$ref` win, as 3.1 allows."""
    for _hop in range(_MAX_REF_HOPS):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            break
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        target = resolver.lookup(node["$ref"]).contents
        node = {**target, **siblings} if isinstance(target, dict) else target
    return node if isinstance(node, dict) else {}
