"""Snapshot JSON -> Table. Pure and CPU-bound: the store runs it in a thread, off the hot path."""

from __future__ import annotations

import calendar
import time
from collections.abc import Mapping
from typing import Any

import orjson

from gateway_runtime.auth import JwtVerifier, KeyRecord, KeyTable, Revocations
from gateway_runtime.config.table import (
    Application,
    InstanceSpec,
    Plan,
    RetryPolicy,
    Route,
    Table,
    Timeouts,
    UpstreamSpec,
    Version,
)
from gateway_runtime.contract.snapshot import SCHEMA_VERSION
from gateway_runtime.contract.validate import validate_snapshot
from gateway_runtime.routing import RouteIndex, split_path

_DEFAULT_PORTS = {"http": 80, "https": 443}


class ConfigError(ValueError):
    """The snapshot cannot be served; the message names every problem found."""


def parse_snapshot(raw: bytes) -> dict[str, Any]:
    """JSON bytes -> document, or ConfigError."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ConfigError(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ConfigError("$: a snapshot is a JSON object")
    return document


def check_document(document: Mapping[str, Any]) -> list[str]:
    """Every reason not to serve `document` (schema version, schema, references, checksum)."""
    if document.get("schema_version") != SCHEMA_VERSION:
        return [
            f"$.schema_version: {document.get('schema_version')!r} is not {SCHEMA_VERSION}, "
            "the only version this gateway knows"
        ]
    return validate_snapshot(document)


def check_raw(raw: bytes) -> list[str]:
    """check_document for raw bytes; a top-level function so a process pool can run it."""
    try:
        return check_document(parse_snapshot(raw))
    except ConfigError as error:
        return [str(error)]


def summarize(problems: list[str]) -> str:
    shown = "; ".join(problems[:5])
    return shown + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else "")


def compile_table(
    document: Mapping[str, Any], revocations: Revocations, *, validate: bool = True
) -> Table:
    """Validate (unless the caller already did) then build the immutable Table."""
    if validate:
        problems = check_document(document)
        if problems:
            raise ConfigError(summarize(problems))
    try:
        return _build(document, revocations)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _build(document: Mapping[str, Any], revocations: Revocations) -> Table:
    versions = [_version(entry) for entry in document["apis"]]
    routes = [
        _route(route, version)
        for entry, version in zip(document["apis"], versions, strict=True)
        for route in entry["routes"]
    ]
    index = RouteIndex.build(versions, routes)
    oauth = document["oauth"]
    revocations.merge(oauth["revoked"])
    consumers = document["consumers"]
    return Table(
        revision=int(document["revision"]),
        checksum=str(document["checksum"]),
        created_at=str(document.get("created_at", "")),
        routes=index,
        versions={version.id: version for version in versions},
        plans={int(pid): _plan(int(pid), entry) for pid, entry in document["plans"].items()},
        upstreams={slug: _upstream(slug, entry) for slug, entry in document["upstreams"].items()},
        applications={
            int(aid): Application(
                int(aid), entry["name"], {int(v): int(p) for v, p in entry["subscriptions"].items()}
            )
            for aid, entry in consumers["applications"].items()
        },
        keys=KeyTable(
            KeyRecord(prefix, entry["sha256"], int(entry["app"]), entry["expires_at"])
            for prefix, entry in consumers["keys"].items()
        ),
        jwt=JwtVerifier(oauth["issuer"], oauth["audience"], oauth["jwks"], revocations),
        oauth_clients={str(cid): int(aid) for cid, aid in consumers["oauth_clients"].items()},
        route_count=index.route_count,
    )


def _version(entry: Mapping[str, Any]) -> Version:
    base_path = "/" + "/".join(split_path(entry["base_path"]))
    base_path = "" if base_path == "/" else base_path
    timeouts = entry["timeouts"]
    retry = entry["retry"]
    return Version(
        id=int(entry["id"]),
        api=entry["api"],
        version=entry["version"],
        host=entry["host"].lower(),
        base_path=base_path,
        state=entry["state"],
        sunset_at=entry["sunset_at"],
        upstream=entry["upstream"],
        upstream_path=entry["upstream_path"],
        auth_mode=entry["auth_mode"],
        allow_key_in_query=bool(entry["allow_key_in_query"]),
        timeouts=Timeouts(
            timeouts["connect_ms"] / 1000, timeouts["read_ms"] / 1000, timeouts["total_ms"] / 1000
        ),
        retry=RetryPolicy(
            retries=int(retry["retries"]),
            on=frozenset(retry["on"]),
            statuses=frozenset(int(item) for item in retry["on"] if item.isdigit()),
            non_idempotent=bool(retry["non_idempotent"]),
        ),
        max_body_bytes=int(entry["max_body_bytes"]),
        plans=frozenset(int(plan) for plan in entry["plans"]),
        base_len=len(base_path.encode()),
        upstream_prefix=entry["upstream_path"].rstrip("/").encode(),
        extra_headers=_deprecation_headers(entry["state"], entry["sunset_at"]),
    )


def _deprecation_headers(state: str, sunset_at: str | None) -> bytes:
    """RFC 8594 Sunset (HTTP-date) and the Deprecation header for a deprecated version.

    The snapshot does not carry when a version was deprecated, so Deprecation says only
    that it is ("true", the form clients have parsed since the draft), not since when.
    """
    if state != "deprecated":
        return b""
    head = b"Deprecation: true\r\n"
    if sunset_at:
        epoch = calendar.timegm(time.strptime(sunset_at, "%Y-%m-%dT%H:%M:%SZ"))
        sunset = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(epoch))
        head += b"Sunset: " + sunset.encode() + b"\r\n"
    return head


def _route(entry: Mapping[str, Any], version: Version) -> Route:
    segments = split_path(entry["path"])
    return Route(
        id=int(entry["id"]),
        method=entry["method"],
        path=entry["path"],
        param_names=tuple(s[1:-1] for s in segments if s.startswith("{") and s.endswith("}")),
        auth_mode=entry["auth_mode"],
        scopes=frozenset(entry["scopes"]),
        timeout_s=entry["timeout_ms"] / 1000,
        max_body_bytes=int(entry["max_body_bytes"]),
        version=version,
        read_s=version.timeouts.read_s,
        retry_statuses=version.retry.statuses,
    )


def _plan(plan_id: int, entry: Mapping[str, Any]) -> Plan:
    return Plan(
        id=plan_id,
        name=entry["name"],
        rps=entry["rps"],
        rpm=entry["rpm"],
        per_day=entry["per_day"],
        per_month=entry["per_month"],
        burst=entry["burst"],
        redis_down=entry["redis_down"],
    )


def _upstream(slug: str, entry: Mapping[str, Any]) -> UpstreamSpec:
    return UpstreamSpec(
        slug=slug,
        id=int(entry["id"]),
        name=entry["name"],
        instances=tuple(_instance(item) for item in entry["instances"]),
        # Optional in the snapshot (older portals did not send them): absent = the defaults.
        balancer=entry.get("balancer") or "least_request",
        hash_on=entry.get("hash_on"),
        max_in_flight=entry.get("max_in_flight"),
    )


def _instance(item: Mapping[str, Any]) -> InstanceSpec:
    host, port, scheme = item["host"], int(item["port"]), item["scheme"]
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if _DEFAULT_PORTS.get(scheme) == port else f"{shown}:{port}"
    return InstanceSpec(
        id=int(item["id"]),
        host=host,
        port=port,
        scheme=scheme,
        weight=int(item["weight"]),
        zone=item["zone"],
        tags=tuple(item["tags"]),
        state=item["state"],
        host_header=host_header.encode(),
    )
