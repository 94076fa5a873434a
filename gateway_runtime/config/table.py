"""The compiled configuration a worker serves: immutable objects built off the hot path.

compile.py turns one validated snapshot into one Table; the ConfigStore swaps a single
reference to it. A request reads `store.table` once and uses that object to the end, so a
swap never changes the config under an in-flight request. Everything a request needs is
precomputed here (bytes, seconds, frozensets) so the hot path only does dict lookups.

What a request reads (Table, Version, Route, Plan, Timeouts, RetryPolicy) is declared in
table.pxd: compiled, these are extension types whose fields are C struct members, so the
request path's reads are struct loads instead of generic attribute lookups, and readonly (an
assignment raises AttributeError). `cython.dataclasses.dataclass` gives them the keyword
constructor, defaults, repr, equality, hash and `dataclasses.replace` support of a frozen
dataclass; not compiled, it is the stdlib's frozen dataclass (without slots: Cython's decorator
takes no `slots` argument). The specs read only when a table is applied (instances, upstreams,
applications) stay plain frozen slots dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # type checkers see the pure-mode classes, stdlib frozen dataclasses
    from gateway_runtime import cython_shadow as cython
else:
    try:
        import cython
    except ImportError:  # an install without the build (MESHGATE_PURE_PYTHON=1) may lack Cython
        from gateway_runtime import cython_shadow as cython

if TYPE_CHECKING:
    from gateway_runtime.auth import JwtVerifier, KeyTable
    from gateway_runtime.routing import RouteIndex

AuthMode = Literal["key", "oauth2", "key_or_oauth2", "public"]
InstanceState = Literal["unknown", "healthy", "unhealthy", "draining", "removed"]


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    """One upstream instance as published (state = DB state at compile time)."""

    id: int
    host: str
    port: int
    scheme: str  # "http" | "https"
    weight: int
    zone: str
    tags: tuple[str, ...]
    state: InstanceState
    # b"host:port" (port omitted for the scheme's default) for the upstream Host header.
    host_header: bytes


@dataclass(frozen=True, slots=True)
class UpstreamSpec:
    slug: str
    id: int
    name: str
    instances: tuple[InstanceSpec, ...]
    # Balancing policy from the snapshot (defaults when a snapshot omits it): P2C least-request,
    # no hash key, no concurrency cap beyond the runtime default (per worker).
    balancer: str = "least_request"  # "least_request" | "round_robin" | "maglev"
    hash_on: str | None = None  # "header:X-Name" | "cookie:name" | "ip"
    max_in_flight: int | None = None


@cython.dataclasses.dataclass(frozen=True)
class Plan:
    """Limits of one plan; None = unlimited."""

    id: int
    name: str
    rps: int | None
    rpm: int | None
    per_day: int | None
    per_month: int | None
    burst: int | None
    redis_down: Literal["local", "fail_closed"]


@cython.dataclasses.dataclass(frozen=True)
class Timeouts:
    connect_s: float
    read_s: float
    total_s: float


@cython.dataclasses.dataclass(frozen=True)
class RetryPolicy:
    retries: int
    # subset of {"connect-failure", "timeout", "502", "503", "504"}
    on: frozenset[str]
    # statuses from `on` as ints, for a quick `status in policy.statuses`
    statuses: frozenset[int]
    non_idempotent: bool


@cython.dataclasses.dataclass(frozen=True)
class Version:
    """One live API version (published, deprecated or retired)."""

    id: int
    api: str
    version: str
    host: str  # lower-case, "" = any Host
    base_path: str  # "/petstore/v1" (no trailing "/")
    state: Literal["published", "deprecated", "retired"]
    sunset_at: str | None
    upstream: str | None  # key into Table.upstreams; None -> 503
    upstream_path: str
    auth_mode: AuthMode
    allow_key_in_query: bool
    timeouts: Timeouts
    retry: RetryPolicy
    max_body_bytes: int
    plans: frozenset[int]
    # Precomputed for the hot path:
    base_len: int  # len(base_path) in bytes; the request target after it is forwarded
    upstream_prefix: bytes  # upstream_path without its trailing "/" (proxy.request_line)
    # b"" or b"Deprecation: ...\r\nSunset: ...\r\n" appended to every response head
    extra_headers: bytes

    @property
    def retired(self) -> bool:
        return self.state == "retired"


@cython.dataclasses.dataclass(frozen=True)
class Route:
    id: int
    method: str
    path: str  # template relative to base_path, "/pets/{id}"
    param_names: tuple[str, ...]  # names of the template's parameters, in path order
    auth_mode: AuthMode
    scopes: frozenset[str]
    timeout_s: float  # resolved total timeout of this route
    max_body_bytes: int
    version: Version
    # Copied from the version for the exchange, which reads them on every request:
    read_s: float = 0.0  # version.timeouts.read_s
    retry_statuses: frozenset[int] = frozenset()  # version.retry.statuses


@dataclass(frozen=True, slots=True)
class Application:
    id: int
    name: str
    subscriptions: dict[int, int]  # api version id -> plan id


@cython.dataclasses.dataclass(frozen=True)
class Table:
    """One compiled revision. Never mutated after compile (dicts included)."""

    revision: int
    checksum: str
    created_at: str
    routes: RouteIndex
    versions: dict[int, Version]
    plans: dict[int, Plan]
    upstreams: dict[str, UpstreamSpec]
    applications: dict[int, Application]
    keys: KeyTable
    jwt: JwtVerifier
    # client_id -> app id
    oauth_clients: dict[str, int] = cython.dataclasses.field(default_factory=dict)
    route_count: int = 0
