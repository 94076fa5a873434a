"""One client connection of the proxy server: an asyncio Protocol on httptools.

Keep-alive, pipelined requests answered in order (only the head of the pipeline writes), limits
(431 header size, 413 body size once the route is known), the timeouts the server's scan enforces
(header read / body read / keep-alive idle: slowloris), and malformed input answered 400 without
ever raising out of `data_received`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

import httptools

import gateway_runtime.http.header_kinds as kinds
from gateway_runtime.http.headers import (
    COLON,
    CRLF,
    bytes_from,
    bytes_upto,
    find_byte,
    request_header_key,
    request_header_kind,
)
from gateway_runtime.http.problems import problem_response
from gateway_runtime.http.request import Request

if TYPE_CHECKING:
    from gateway_runtime.http.server import ProxyServer

log = logging.getLogger("gateway_runtime.http")

# A body arriving after an early answer (401, 404...) is read and dropped up to this size so the
# connection stays usable; past it the connection is closed instead.
DISCARD_CAP = 1 << 20


class Dispatcher:
    """What a client connection hands each parsed request to, and what an exchange reports each
    finished request to: the Proxy (proxy.py).

    A base class so that the compiled connection and exchange call these methods directly:
    proxy.pxd cimports this module, so this module cannot name the Proxy type itself (the same
    arrangement as upstream/client.ResponseSink)."""

    def dispatch(self, client: ClientProtocol, req: Request) -> None:
        raise NotImplementedError

    def record(self, req: Request, route: Any, principal: Any, status: int) -> None:
        raise NotImplementedError


class ClientProtocol:
    """One client connection. Parser callbacks are `on_*`; the proxy drives responses through
    `write`, `respond`, `response_done` and the flow-control methods.

    An asyncio protocol by its methods, not by inheritance (see upstream/client.py)."""

    def __init__(self, server: ProxyServer) -> None:
        # connection lifetime
        self.server = server
        self.limits = server.limits
        self.loop = asyncio.get_running_loop()
        self.transport: Any = None
        self.outbox = server.outbox  # every write and close of the transport goes through it
        self.clock = server.clock
        self.dispatcher = server.dispatcher
        self.parser = httptools.HttpRequestParser(self)
        self.client_ip = b""
        self.pipeline: deque[Request] = deque()
        self.reading_paused = False
        self.writing_paused = False
        self.closed = False
        self.eof = False
        self.served = 0
        # response bytes waiting for the one write per upstream read (reused by each exchange)
        self.out: list[bytes] = []
        # X-Forwarded-*/Forwarded lines cached per connection (proxy._head_rest)
        self.fwd_host = b""
        self.fwd_lines: bytes | None = None
        self.tunnel: Any = None
        self.upgrade_tail: bytearray | None = None
        self.pending_error: str | None = None
        # request being parsed / request being answered
        self.cur: Request | None = None
        self.active: Request | None = None
        self.head_size = 0
        self.head_started = 0.0
        self.last_read = 0.0
        self.idle_since = 0.0

    # -- asyncio callbacks ---------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.client_ip = peer[0].encode() if isinstance(peer, tuple) else b"unix"
        self.server.connections.add(self)
        self.server.ensure_scan(self.loop)
        # until the first byte, the header timeout applies (a silent connection is a slowloris too)
        self.idle_since = self.head_started = self.last_read = self.clock.now

    def data_received(self, data: bytes) -> None:
        self.last_read = self.clock.now
        if self.tunnel is not None:
            self.tunnel.from_client(data)
            return
        if self.upgrade_tail is not None:
            self.upgrade_tail += data
            return
        cur = self.cur
        if cur is None or not cur.method:
            # In a request head: count its bytes before the parser buffers them (httptools holds
            # a header line until its CRLF, so a limit checked in on_header would come too late).
            size = self.head_size + len(data)
            if size > self.limits.max_header_bytes:
                end = data.find(b"\r\n\r\n")
                if end < 0 or self.head_size + end + 4 > self.limits.max_header_bytes:
                    self._parse_failed("headers-too-large")
                    return
            self.head_size = size
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self.upgrade_tail = bytearray(data[exc.args[0] :])
            self.pause_reading()
        except httptools.HttpParserError:
            self._parse_failed("bad-request")

    def eof_received(self) -> bool:
        self.eof = True
        if self.tunnel is not None:
            return self.tunnel.client_eof()
        cur = self.cur
        if cur is not None:  # a request cut short by the EOF can never complete
            self.cur = None
            if cur is self.active:
                if cur.exchange is not None:
                    cur.exchange.client_gone()
                self.close()
                return False
            if cur in self.pipeline:
                self.pipeline.remove(cur)
        # a half-closed client still gets the answers it asked for, then the connection closes
        return self.active is not None or bool(self.pipeline)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        if self.tunnel is not None:
            self.tunnel.client_lost()
        active = self.active
        if active is not None and active.exchange is not None:
            active.exchange.client_gone()

    def pause_writing(self) -> None:
        self.writing_paused = True
        target = self.tunnel if self.tunnel is not None else self._active_exchange()
        if target is not None:
            target.pause_upstream()

    def resume_writing(self) -> None:
        self.writing_paused = False
        target = self.tunnel if self.tunnel is not None else self._active_exchange()
        if target is not None:
            target.resume_upstream()

    # -- parser callbacks ----------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.cur = Request(self.clock.loop_time())
        self.head_started = self.clock.now

    def on_url(self, url: bytes) -> None:
        req = self.cur
        req.url = req.url + url if req.url else url  # type: ignore[union-attr]

    def on_header(self, name: bytes, value: bytes) -> None:
        req: Request = self.cur  # type: ignore[assignment]
        kind = request_header_kind(name)
        if kind == kinds.REQ_FORWARD or kind >= kinds.REQ_KNOWN:
            # forwarded as is, kept as its four pieces: the upstream head is one join
            fwd = req.fwd
            fwd.append(name)
            fwd.append(COLON)
            fwd.append(value)
            fwd.append(CRLF)
            if kind == kinds.REQ_X_API_KEY:
                req.api_key = value
            elif kind == kinds.REQ_AUTHORIZATION:
                req.authorization = value
        elif kind == kinds.REQ_HOST:  # the one captured header of nearly every request
            req.host = value
            req.host_seen = True
        else:
            if req.held is None:
                req.held = {}
            req.held[request_header_key(kind, name)] = value
            _capture(req, kind, value)

    def on_headers_complete(self) -> None:
        self.head_size = 0
        req: Request = self.cur  # type: ignore[assignment]
        parser = self.parser
        req.method = method = parser.get_method()
        req.keep_alive = keep = parser.should_keep_alive()
        if req.upgrade:  # an Upgrade header came (_capture): does the parser see an upgrade?
            req.upgrade = parser.should_upgrade()
        if not keep or req.conn_tokens is not None:  # HTTP/1.1 without Connection keeps alive
            req.http10 = parser.get_http_version() == "1.0"
        req.head_only = method == b"HEAD"
        url = req.url
        if url and url[0] == 0x2F:  # "/": origin-form, the usual case
            q = find_byte(url, 0x3F)  # "?"
            if q < 0:
                req.path = url
            else:
                req.path = bytes_upto(url, q)
                req.query = bytes_from(url, q + 1)
        else:
            _split_url(req)
        if self.active is None and not self.pipeline:
            self._start(req)
        else:
            self.pipeline.append(req)
            if len(self.pipeline) >= self.limits.max_pipeline:
                self.pause_reading()

    def on_body(self, chunk: bytes) -> None:
        req: Request = self.cur  # type: ignore[assignment]
        req.body_received += len(chunk)
        if req.discard_body:
            if req.body_received > DISCARD_CAP:
                self.close()
            return
        if 0 <= req.route_max_body < req.body_received:
            self._body_too_large(req)
            return
        ex = req.exchange
        if ex is not None:
            ex.on_request_body(chunk)
            return
        if req.body is None:
            req.body = [chunk]
        else:
            req.body.append(chunk)
        req.body_buffered += len(chunk)
        if req.body_buffered > self.limits.high_water:
            self.pause_reading()

    def on_message_complete(self) -> None:
        req: Request = self.cur  # type: ignore[assignment]
        self.cur = None
        req.body_done = True
        if req.discard_body:
            req.discard_body = False
            if self.active is None:
                self._advance()
            return
        if req.exchange is not None:
            req.exchange.on_request_done()

    # -- used by the proxy / exchange ----------------------------------------------------------
    def write(self, data: bytes) -> None:
        if not self.closed:
            self.outbox.write(self.transport, data)

    def respond_problem(
        self,
        req: Request,
        slug: str,
        *,
        detail: str | None = None,
        extra: bytes = b"",
        status: int | None = None,
        close: bool = False,
    ) -> None:
        """Answer `req` with a problem+json response and finish it."""
        keep = not close and req.keep_alive and (req.body_done or self._can_discard(req))
        rid = req.request_id.decode("latin-1") if req.request_id else None
        self.write(
            problem_response(
                slug,
                date=self.clock.date,
                detail=detail,
                request_id=rid,
                extra=extra,
                keep_alive=keep and not self.clock.closing,
                status=status,
                head_only=req.head_only,
            )
        )
        self.response_done(req, keep)

    def response_done(self, req: Request, keep_alive: bool) -> None:
        """The response to the active request is fully written: close, or move to the next one."""
        req.responded = True
        req.exchange = None  # break the request <-> exchange cycle: refcounting frees both now
        self.served += 1
        if self.active is req:
            self.active = None
        if self.closed:
            return
        if not (keep_alive and req.keep_alive) or self.clock.closing or req.upgrade:
            self.close()
            return
        if not req.body_done:
            if not self._can_discard(req):
                self.close()
                return
            req.discard_body = True
            req.exchange = None
            self.resume_reading()
            return
        if self.upgrade_tail is not None and not self.pipeline:
            # the parser stopped at an upgrade (or CONNECT) that did not become a tunnel
            self.close()
            return
        self._advance()

    def pause_reading(self) -> None:
        if not self.reading_paused and not self.closed:
            self.reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.reading_paused and not self.closed:
            self.reading_paused = False
            self.transport.resume_reading()

    def start_tunnel(self, tunnel: Any) -> None:
        """Switch this connection to a raw byte tunnel (WebSocket after the upstream's 101)."""
        self.tunnel = tunnel
        tail, self.upgrade_tail = self.upgrade_tail, None
        if tail:
            tunnel.from_client(bytes(tail))
        self.resume_reading()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.outbox.close(self.transport)

    def abort(self) -> None:
        if not self.closed:
            self.closed = True
            self.transport.abort()

    def is_idle(self) -> bool:
        return (
            self.active is None and self.cur is None and not self.pipeline and self.tunnel is None
        )

    # -- internals -----------------------------------------------------------------------------
    def _active_exchange(self) -> Any:
        active = self.active
        return active.exchange if active is not None else None

    def _start(self, req: Request) -> None:
        self.active = req
        if req.upgrade and self.upgrade_tail is None and req.body_done:
            # the parser stops at an upgrade; hold later bytes until the tunnel exists
            self.upgrade_tail = bytearray()
        try:
            self.dispatcher.dispatch(self, req)
        except Exception:
            log.exception("proxy dispatch failed")
            if not req.responded and self.active is req and not self.closed:
                self.respond_problem(req, "internal-error", close=True)

    def _advance(self) -> None:
        if self.pipeline:
            nxt = self.pipeline.popleft()
            if self.reading_paused and self.tunnel is None:
                self.resume_reading()
            self._start(nxt)
            return
        if self.pending_error is not None:
            self._respond_and_close(self.pending_error)
            return
        if self.eof:  # half-closed: whatever partial request remains can never complete
            self.close()
            return
        if self.cur is None:
            self.idle_since = self.clock.now
        if self.reading_paused:
            self.resume_reading()

    def _can_discard(self, req: Request) -> bool:
        if req.upgrade:
            return False
        if req.chunked:
            return req.body_received < DISCARD_CAP
        return req.content_length <= DISCARD_CAP

    def _body_too_large(self, req: Request) -> None:
        ex = req.exchange
        if ex is not None:
            ex.request_too_large()
        elif self.active is req and not req.responded:
            self.respond_problem(req, "payload-too-large", close=True)
        else:
            self.close()

    def _parse_failed(self, slug: str) -> None:
        if self.active is None and not self.pipeline:
            self._respond_and_close(slug)
        elif self.cur is not None and self.cur is self.active:
            # malformed body of the request being answered: nothing sane can follow
            ex = self.cur.exchange
            if ex is not None:
                ex.client_gone()
            self.close()
        else:
            self.pending_error = slug
            self.pause_reading()

    def _respond_and_close(self, slug: str) -> None:
        self.write(problem_response(slug, date=self.clock.date, keep_alive=False))
        self.close()

    def check(self, now: float) -> None:
        """Called by the server scan: enforce header, body and idle timeouts, and the exchange's."""
        limits = self.limits
        if self.tunnel is not None:  # WebSocket idle timeout (upstream/tunnel.py)
            self.tunnel.check(now, limits)
        active = self.active
        if active is not None and active.exchange is not None:
            active.exchange.check(now)
        cur = self.cur
        if cur is not None:
            if not cur.method:
                if now - self.head_started > limits.header_timeout:
                    self._timeout_close(cur)
            elif not cur.body_done and now - self.last_read > limits.body_timeout:
                self._timeout_close(cur)
        elif active is None and not self.pipeline and self.tunnel is None:
            limit = limits.idle_timeout if self.served else limits.header_timeout
            if now - self.idle_since > limit:
                self.close()

    def _timeout_close(self, cur: Request) -> None:
        if self.active is None or self.active is cur and not cur.responded and cur.exchange is None:
            self._respond_and_close("request-timeout")
        else:
            ex = cur.exchange
            if ex is not None:
                ex.client_gone()
            self.close()


def _capture(req: Request, kind: int, value: bytes) -> None:
    """Hold apart a header the gateway rewrites or interprets (see headers.CAPTURED); the
    hop-by-hop ones without a slot are only dropped."""
    if kind == kinds.REQ_CONTENT_LENGTH:
        req.content_length = int(value)  # llhttp already refused a bad or repeated value
    elif kind == kinds.REQ_TRANSFER_ENCODING:
        req.chunked = True
    elif kind == kinds.REQ_CONNECTION:
        req.conn_tokens = value if req.conn_tokens is None else req.conn_tokens + b"," + value
    elif kind == kinds.REQ_EXPECT:
        req.expect_continue = True
    elif kind == kinds.REQ_X_FORWARDED_FOR:
        req.xff = value if req.xff is None else req.xff + b", " + value
    elif kind == kinds.REQ_X_FORWARDED_HOST:
        req.xfh = value
    elif kind == kinds.REQ_FORWARDED:
        req.forwarded = value if req.forwarded is None else req.forwarded + b", " + value
    elif kind == kinds.REQ_X_REQUEST_ID:
        req.request_id = value
    elif kind == kinds.REQ_TRACEPARENT:
        req.traceparent = value
    elif kind == kinds.REQ_UPGRADE:
        req.upgrade = True  # provisional: on_headers_complete asks the parser
    elif kind == kinds.REQ_HOST:
        req.host = value


def _split_url(req: Request) -> None:
    """Targets other than origin-form: `*` (OPTIONS) and absolute-form (RFC 9112 §3.2.2)."""
    url = req.url
    if url == b"*":
        req.path = url
        return
    parsed = httptools.parse_url(url)  # raises on garbage: the parser error becomes a 400
    req.path = parsed.path or b"/"
    req.query = parsed.query or b""
