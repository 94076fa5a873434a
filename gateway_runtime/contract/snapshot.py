"""TypedDicts for the configuration snapshot; the JSON Schema beside this file is the authority."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

SCHEMA_VERSION = 1

AuthModeName = Literal["key", "oauth2", "key_or_oauth2", "public"]
VersionState = Literal["published", "deprecated", "retired"]
InstanceStateName = Literal["unknown", "healthy", "unhealthy", "draining"]
BalancerName = Literal["least_request", "round_robin", "maglev"]


class Timeouts(TypedDict):
    connect_ms: int
    read_ms: int
    total_ms: int


class RetryPolicy(TypedDict):
    retries: int
    on: list[str]
    non_idempotent: bool


class RouteEntry(TypedDict):
    id: int
    method: str
    path: str
    auth_mode: AuthModeName
    scopes: list[str]
    timeout_ms: int
    max_body_bytes: int


class ApiEntry(TypedDict):
    id: int
    api: str
    version: str
    host: str
    base_path: str
    state: VersionState
    sunset_at: str | None
    upstream: str | None
    upstream_path: str
    auth_mode: AuthModeName
    allow_key_in_query: bool
    timeouts: Timeouts
    retry: RetryPolicy
    max_body_bytes: int
    plans: list[int]
    routes: list[RouteEntry]


class PlanEntry(TypedDict):
    name: str
    rps: int | None
    rpm: int | None
    per_day: int | None
    per_month: int | None
    burst: int | None
    redis_down: Literal["local", "fail_closed"]


class InstanceEntry(TypedDict):
    id: int
    host: str
    port: int
    scheme: Literal["http", "https"]
    weight: int
    zone: str
    tags: list[str]
    state: InstanceStateName


class UpstreamEntry(TypedDict):
    id: int
    name: str
    instances: list[InstanceEntry]
    # Optional for older snapshots; absent means the default shown.
    balancer: NotRequired[BalancerName]  # "least_request"
    hash_on: NotRequired[str | None]  # None; "header:X-User" | "cookie:sid" | "ip"
    max_in_flight: NotRequired[int | None]  # None: the gateway's default


class ApplicationEntry(TypedDict):
    name: str
    subscriptions: dict[str, int]  # api version id -> plan id


class KeyEntry(TypedDict):
    sha256: str
    app: int
    expires_at: int | None  # epoch seconds


class Consumers(TypedDict):
    applications: dict[str, ApplicationEntry]
    keys: dict[str, KeyEntry]  # key prefix -> entry
    oauth_clients: dict[str, int]  # client_id -> application id


class RevokedEntry(TypedDict):
    jti: str
    exp: int


class OAuthSection(TypedDict):
    issuer: str
    audience: str
    jwks: dict[str, list[dict[str, str]]]
    revoked: list[RevokedEntry]


class Snapshot(TypedDict):
    schema_version: int
    revision: int
    checksum: str
    created_at: str
    apis: list[ApiEntry]
    plans: dict[str, PlanEntry]
    upstreams: dict[str, UpstreamEntry]
    consumers: Consumers
    oauth: OAuthSection
