"""OpenAPI documents in and out: parse + validate an upload, export a version through the gateway.

`parse_openapi` never touches the database or the network; `apis.services.catalogue`
stores what it returns.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings

from apis.services import openapi_checks as checks
from apis.services.openapi_operations import Operation, derive_operations
from apis.services.openapi_rules import check_rules
from apis.services.openapi_source import PathPart, SourceError, decode, json_path, line_of, load
from apis.services.openapi_yaml import compose

if TYPE_CHECKING:
    from apis.models import ApiVersion

__all__ = [
    "OpenApiError",
    "Operation",
    "ParsedOpenApi",
    "Problem",
    "export_openapi",
    "parse_openapi",
]

logger = logging.getLogger(__name__)
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
# Up to this size openapi-spec-validator's own semantic pass runs too (defaults checked
# against their schemas, 3.1 schema dialects); it costs ~1 ms per operation and schema.
FULL_CHECK_CHARS = 1024 * 1024


@dataclass(frozen=True)
class Problem:
    path: str  # a JSON path such as $.paths['/pets'].get.responses
    line: int | None  # 1-based line in the uploaded text, when known
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "message": self.message}


class OpenApiError(Exception):
    """The document cannot be used; `problems` lists every reason found, each with its place."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        first = problems[0]
        where = f" (line {first.line})" if first.line else ""
        more = f" and {len(problems) - 1} more problem(s)" if len(problems) > 1 else ""
        super().__init__(f"{first.path}{where}: {first.message}{more}")


@dataclass(frozen=True)
class ParsedOpenApi:
    document: dict[str, Any]
    format: str  # "json" | "yaml"
    openapi_version: str  # "3.0.x" | "3.1.x"
    title: str
    operations: list[Operation]
    source: str  # the uploaded text, decoded


def parse_openapi(source: str | bytes) -> ParsedOpenApi:
    """Parse, check and validate an OpenAPI 3.0/3.1 document (JSON or YAML).

    Raises OpenApiError with all problems found at the first stage that fails:
    syntax, then version and `$ref`s, then the OpenAPI schema, then the semantic
    checks. Nothing is fetched: an external `$ref` is an error.
    """
    if len(source) > MAX_DOCUMENT_BYTES:
        limit = MAX_DOCUMENT_BYTES // (1024 * 1024)
        raise OpenApiError([Problem("$", None, f"the document is larger than {limit} MiB")])
    try:
        text = decode(source)
        document, form = load(text)
    except SourceError as exc:
        raise OpenApiError(
            [Problem(json_path(p.parts), p.line, p.message) for p in exc.problems]
        ) from None
    _check(document, text)
    return ParsedOpenApi(
        document=document,
        format=form,
        openapi_version=document["openapi"],
        title=str((document.get("info") or {}).get("title") or ""),
        operations=derive_operations(document),
        source=text,
    )


def _check(document: Any, text: str) -> None:
    if not isinstance(document, dict):
        kind = "empty" if document is None else f"a {type(document).__name__}, not a mapping"
        raise OpenApiError([Problem("$", 1, f"the document is {kind}; expected an OpenAPI object")])
    minor, findings = checks.check_version(document)
    findings = findings or checks.check_values(document)
    if not findings:
        findings = checks.check_schema(document, minor)
        findings = findings or _semantic_findings(document, minor, len(text))
    if findings:
        raise OpenApiError(_locate(findings, text))


def _semantic_findings(document: dict[str, Any], minor: str, size: int) -> list[checks.Finding]:
    findings = check_rules(document)
    if size > FULL_CHECK_CHARS:
        return findings
    # The library repeats some of our rules (with the same messages): keep ours, add the rest.
    known = {message for _parts, message in findings}
    try:
        library = checks.check_semantics(document, minor)
    except Exception:  # the library's keyword checks are extras: a crash in them must not 500
        logger.exception("openapi-spec-validator's semantic pass failed; its extra checks skipped")
        return findings
    return findings + [(parts, message) for parts, message in library if message not in known]


def _locate(findings: list[tuple[tuple[PathPart, ...], str]], text: str) -> list[Problem]:
    """Lines for the findings, from one composition of the text (only done on errors)."""
    root = compose(text)
    problems = [
        Problem(json_path(parts), line_of(root, parts), message) for parts, message in findings
    ]
    return sorted(problems, key=lambda problem: (problem.line or 0, problem.path))


def export_openapi(version: ApiVersion) -> dict[str, Any]:
    """The stored document with `servers` pointing at the version's mount on the gateway."""
    document = copy.deepcopy(version.openapi_document)
    document["servers"] = [{"url": gateway_url(version), "description": "MeshGate gateway"}]
    return document


def gateway_url(version: ApiVersion) -> str:
    public = urlsplit(settings.MESHGATE_GATEWAY["PUBLIC_URL"])
    netloc = public.netloc
    if version.host:
        netloc = (
            version.host
            if ":" in version.host or not public.port
            else f"{version.host}:{public.port}"
        )
    return f"{public.scheme}://{netloc}{version.base_path}"
