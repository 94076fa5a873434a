"""The request pipeline: config table -> route -> version state -> auth -> rate limit -> instance
-> forward (upstream/exchange.py) -> metrics, usage, access log.

Everything before forwarding is synchronous and reads `store.table` exactly once, so a config swap
never changes the rules under a request. Every refusal is a problem+json response (http/problems).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gateway_runtime.auth import AuthError, authenticate_raw, strip_query_key
from gateway_runtime.http.clock import Clock
from gateway_runtime.http.connection import Dispatcher
from gateway_runtime.http.headers import (
    CRLF,
    IdSource,
    bytes_from,
    connection_tokens,
    drop_named,
    forwarding_lines,
    join_bytes,
)
from gateway_runtime.http.outbox import Outbox
from gateway_runtime.http.problems import PROBLEMS
from gateway_runtime.http.server import HttpLimits
from gateway_runtime.routing import RouteMatch
from gateway_runtime.upstream.exchange import new_exchange
from gateway_runtime.upstream.pool import UpstreamPool

if TYPE_CHECKING:
    from gateway_runtime.http.connection import ClientProtocol
    from gateway_runtime.http.request import Request
    from gateway_runtime.http.server import ProxyServer

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# Connection tokens that are not names of extra hop-by-hop headers
_CONNECTION_OPTIONS = frozenset({b"keep-alive", b"close", b"upgrade"})


@dataclass(slots=True)
class ProxyContext:
    """What a worker hands to the proxy server: built once, shared by every connection."""

    store: Any  # ConfigStore: .table read once per request
    runtime: Any  # RuntimeState: .upstream(slug)
    ratelimiter: Any = None
    retry_budget: Any = None  # unused: each upstream carries its own budget (RuntimeState)
    metrics: Any = None
    usage: Any = None
    accesslog: Any = None
    gateway_id: str = ""
    limits: HttpLimits = field(default_factory=HttpLimits)
    scheme: bytes = b"http"  # X-Forwarded-Proto / Forwarded proto of the client side
    pool_max_idle: int = 64
    pool_idle_timeout: float = 3.5


class Proxy(Dispatcher):
    """The dispatcher the HTTP server calls once per request, in pipeline order."""

    def __init__(self, ctx: ProxyContext, outbox: Outbox | None = None) -> None:
        self.ctx = ctx
        self.outbox = outbox if outbox is not None else Outbox()
        self.store = ctx.store
        self.runtime = ctx.runtime
        self.limiter = ctx.ratelimiter
        self.metrics = ctx.metrics
        self.usage = ctx.usage
        self.accesslog = ctx.accesslog
        self.scheme = ctx.scheme
        self.pool = UpstreamPool(ctx.pool_max_idle, ctx.pool_idle_timeout, self.outbox)
        self.ids = IdSource()
        # both set by make_server_factory, once the server exists
        self.server: ProxyServer = None  # type: ignore[assignment]
        self.clock: Clock = None  # type: ignore[assignment]

    def sweep(self, now: float) -> None:
        self.pool.sweep(now)

    def busy(self) -> bool:
        """True while pooled connections remain (the server keeps its scan going to age them)."""
        return bool(self.pool.idle)

    def close(self) -> None:
        """Close pooled upstream connections (graceful stop, after in-flight requests ended)."""
        self.pool.close()
        self.outbox.flush()  # the loop may stop before another iteration would

    def dispatch(self, client: ClientProtocol, req: Request) -> None:
        """Answer `req` now (refusal) or start forwarding it."""
        rid = req.request_id = self.ids.request_id(req.request_id)
        extra = req.request_id_line = join_bytes([b"x-request-id: ", rid, CRLF])
        table = self.store.table
        if table is None:
            return self._refuse(client, req, "no-config", extra)
        if req.chunked or req.expect_continue or not req.host:
            bad = _framing_problem(req)
            if bad is not None:
                return self._refuse(client, req, bad, extra, close=True)
        routes = table.routes
        found = routes.match_raw(req.host, req.method, req.path)
        if not isinstance(found, RouteMatch):  # compiled: m's reads below are C field reads
            return self._refuse_unrouted(client, req, found, extra)
        m = found
        route = m.route
        if req.content_length > route.max_body_bytes:
            return self._refuse(
                client,
                req,
                "payload-too-large",
                extra,
                route,
                close=True,
                detail=f"the route accepts at most {route.max_body_bytes} bytes",
            )
        req.route_max_body = route.max_body_bytes
        try:
            principal = self._authenticate(table, m, req)
        except AuthError as err:
            challenge = b""
            if err.www_authenticate:
                challenge = b"www-authenticate: " + err.www_authenticate + CRLF
            return self._refuse(
                client,
                req,
                err.slug,
                extra + challenge,
                route,
                status=err.status,
                detail=err.detail,
            )
        # The response's extra lines stay three pieces (request id, the version's Deprecation
        # and Sunset, RateLimit-*): the response head join takes them, with no concatenation
        # here; only a refusal joins them (response_extra).
        rl_lines = b""
        limiter = self.limiter
        plan_id = principal.plan_id
        if plan_id is not None and limiter is not None:
            plan = table.plans.get(plan_id)
            if plan is not None:
                decision = limiter.check(principal.app_id, plan)
                rl_lines = decision.header_bytes
                if not decision.allowed:  # 429 rate-limited, or 503 for fail_closed + Redis down
                    return self._refuse_routed(
                        client, req, decision.slug, route, principal, rl_lines, decision.status
                    )
        self._forward(client, req, route, principal, rl_lines)

    def _forward(
        self, client: ClientProtocol, req: Request, route: Any, principal: Any, rl_lines: bytes
    ) -> None:
        version = route.version
        runtime = self.runtime
        up = runtime.upstream(version.upstream) if version.upstream is not None else None
        if up is None:
            return self._refuse_routed(
                client,
                req,
                "no-healthy-upstream",
                route,
                principal,
                rl_lines,
                detail="this API version has no upstream service",
            )
        if up.at_capacity():
            return self._refuse_routed(client, req, "overloaded", route, principal, rl_lines)
        hash_key = _hash_key(up.hash_on, req, client) if up.hash_on is not None else None
        inst = up.acquire(hash_key)
        if inst is None:
            return self._refuse_routed(
                client, req, "no-healthy-upstream", route, principal, rl_lines
            )
        up.budget.on_request()
        target = req.url
        if not target or target[0] != 0x2F:  # absolute-form: forward origin-form
            target = req.path + (b"?" + req.query if req.query else b"")
        if principal.key_in_query:  # the secret must not reach the upstream (or its logs)
            target = strip_query_key(target)
        head_a = request_line(req.method, version, target)
        if req.expect_continue and not req.body_done:
            client.write(CONTINUE)
        ex = new_exchange(
            self,
            client,
            req,
            route,
            principal,
            up,
            inst,
            hash_key,
            head_a,
            self._head_rest(req, client),
            rl_lines,
        )
        req.exchange = ex
        ex.start()

    def _authenticate(self, table: Any, m: Any, req: Request) -> Any:
        # the clock's 0.1 s resolution: expiry to the tenth of a second is plenty
        return authenticate_raw(
            table, m, req.api_key, req.authorization, req.query, self.clock.wall
        )

    def _head_rest(self, req: Request, client: ClientProtocol) -> bytes:
        """Everything of the upstream request head after the Host line."""
        parts = req.fwd
        if req.conn_tokens is not None:
            named = set(connection_tokens(req.conn_tokens)) - _CONNECTION_OPTIONS
            if named:
                parts = drop_named(parts, named)
        if req.xff is None and req.forwarded is None and req.xfh is None:
            # the common case: same client, same Host on every request of a connection
            if client.fwd_host != req.host or client.fwd_lines is None:
                client.fwd_host = req.host
                client.fwd_lines = b"".join(
                    forwarding_lines(client.client_ip, req.host, self.scheme, None, None)
                )
            parts.append(client.fwd_lines)
        else:
            parts.extend(
                forwarding_lines(
                    client.client_ip, req.xfh or req.host, self.scheme, req.xff, req.forwarded
                )
            )
        parts.append(req.request_id_line)
        parts.append(self.ids.traceparent_line(req.traceparent))
        if req.chunked:
            parts.append(b"transfer-encoding: chunked\r\n")
        elif req.content_length >= 0:
            parts.append(b"content-length: %d\r\n" % req.content_length)
        if req.upgrade:
            upgrade = req.header(b"upgrade") or b""
            parts.append(b"connection: upgrade\r\nupgrade: " + upgrade + CRLF)
        parts.append(CRLF)
        return join_bytes(parts)

    # -- refusals and bookkeeping ----------------------------------------------------------------
    def _refuse_unrouted(self, client: ClientProtocol, req: Request, m: Any, extra: bytes) -> None:
        status = m.status
        if status == 405:
            self._refuse(client, req, "method-not-allowed", extra + b"allow: " + m.allow + CRLF)
        elif status == 410:
            v = m.version
            self._refuse(
                client,
                req,
                "gone",
                extra + v.extra_headers,
                detail=f"{v.api} {v.version} is retired",
            )
        else:
            self._refuse(client, req, "no-route", extra)

    def _refuse(
        self,
        client: ClientProtocol,
        req: Request,
        slug: str,
        extra: bytes,
        route: Any = None,
        principal: Any = None,
        *,
        status: int | None = None,
        detail: str | None = None,
        close: bool = False,
    ) -> None:
        client.respond_problem(req, slug, detail=detail, extra=extra, status=status, close=close)
        self.record(req, route, principal, status or PROBLEMS[slug].status)

    def _refuse_routed(
        self,
        client: ClientProtocol,
        req: Request,
        slug: str,
        route: Any,
        principal: Any,
        rl_lines: bytes,
        status: int | None = None,
        detail: str | None = None,
    ) -> None:
        """A refusal after routing and authentication: its head carries the same extra lines as
        a relayed response would (response_extra)."""
        extra = response_extra(req, route.version, rl_lines)
        self._refuse(client, req, slug, extra, route, principal, status=status, detail=detail)

    def record(self, req: Request, route: Any, principal: Any, status: int) -> None:
        """Metrics, usage and the access log for one finished request (counters only, no I/O)."""
        now = self.clock.loop_time()  # a C double: the subtraction needs no float objects
        seconds = now - req.started
        route_id = route.id if route is not None else 0
        app_id = principal.app_id if principal is not None else 0
        if self.metrics is not None:
            self.metrics.request(route_id, app_id, status, seconds)
        if self.usage is not None and route is not None:
            self.usage.record(
                route.version.id,
                route_id,
                app_id,
                status,
                seconds,
                principal.key_prefix if principal is not None else None,
            )
        log = self.accesslog
        if log is not None and log.enabled and log.sampled():
            log.append(_log_fields(req, route_id, app_id, status, seconds))


def response_extra(req: Request, version: Any, rl_lines: bytes) -> bytes:
    """The extra lines of a response to a routed request: its X-Request-Id, the version's
    Deprecation/Sunset lines, the RateLimit-* lines (the order of the relayed response too)."""
    return join_bytes([req.request_id_line, version.extra_headers, rl_lines])


def request_line(method: bytes, version: Any, raw_target: bytes) -> bytes:
    """The request line to send upstream: the version's base path in the target as received
    (path plus optional query; the router matched it) replaced by its upstream path."""
    rest = bytes_from(raw_target, version.base_len)
    if not rest or rest[0] != 0x2F:  # "" or "?q" -> keep a leading "/"
        return join_bytes([method, b" ", version.upstream_prefix, b"/", rest, b" HTTP/1.1\r\n"])
    return join_bytes([method, b" ", version.upstream_prefix, rest, b" HTTP/1.1\r\n"])


def _framing_problem(req: Request) -> str | None:
    """Requests the gateway refuses before routing: odd transfer codings, Expect, no Host."""
    if req.chunked and (req.header(b"transfer-encoding") or b"").strip().lower() != b"chunked":
        return "not-implemented"
    if req.expect_continue and (req.header(b"expect") or b"").strip().lower() != b"100-continue":
        return "expectation-failed"
    if not req.host and not req.http10:
        return "bad-request"
    return None


def _hash_key(
    hash_on: tuple[str, bytes | None], req: Request, client: ClientProtocol
) -> bytes | None:
    kind, name = hash_on
    if kind == "ip":
        return client.client_ip
    if kind == "header":
        return req.header(name)  # type: ignore[arg-type]
    cookies = req.header(b"cookie")
    if cookies and name:
        for part in cookies.split(b";"):
            k, _, v = part.strip().partition(b"=")
            if k == name:
                return v
    return None


def _log_fields(
    req: Request, route_id: int, app_id: int, status: int, seconds: float
) -> dict[str, Any]:
    return {
        "ts": time.time(),
        "request_id": (req.request_id or b"").decode("latin-1"),
        "method": req.method.decode("latin-1"),
        "path": req.path.decode("latin-1"),
        "route": route_id,
        "app": app_id,
        "status": status,
        "ms": round(seconds * 1000, 3),
    }
