"""One forwarded request: attach to a pooled (or new) upstream connection, stream the request body
up and the response down with backpressure both ways, retry on another instance when allowed,
enforce read and total timeouts, and tell the balancer, passive health and metrics how it went.

Callback driven: the common case (pooled connection, small bodies) creates no task and no future;
a task exists only while a new connection is being opened.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from gateway_runtime.http.headers import CRLF, join_bytes
from gateway_runtime.http.problems import STATUS_LINES, status_line
from gateway_runtime.upstream.client import ResponseSink
from gateway_runtime.upstream.errors import (
    ConnectError,
    NoHealthyUpstream,
    ReadTimeout,
    TotalTimeout,
    UpstreamError,
    UpstreamProtocolError,
)
from gateway_runtime.upstream.tunnel import Tunnel

if TYPE_CHECKING:
    from gateway_runtime.http.connection import ClientProtocol
    from gateway_runtime.http.request import Request
    from gateway_runtime.proxy import Proxy
    from gateway_runtime.upstream.client import UpstreamConnection

IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE"})
CHUNK_END = b"0\r\n\r\n"

# states
CONNECTING, SENT, RELAYING, DONE = 0, 1, 2, 3


class Exchange(ResponseSink):
    """State of one request between the client connection and an upstream connection
    (made by new_exchange())."""

    # -- starting an attempt -------------------------------------------------------------------
    def start(self, fresh: bool = False) -> None:
        key = self.inst.pool_key
        conn = None if fresh else self.pool.acquire(key)
        if conn is not None:
            self._attach(conn)
        else:
            self.task = asyncio.get_running_loop().create_task(self._connect(key))

    async def _connect(self, key: Any) -> None:
        left = self.deadline - self.proxy.server.loop.time()
        timeout = min(self.route.version.timeouts.connect_s, left)
        try:
            conn = await self.pool.connect(key, max(timeout, 0.001))
        except UpstreamError as err:
            self.task = None
            if self.state == CONNECTING:
                self._failed(err)
            return
        self.task = None
        if self.state != CONNECTING:  # failed or the client left meanwhile
            conn.close()
            return
        self._attach(conn)

    def _attach(self, conn: UpstreamConnection) -> None:
        self.conn = conn
        conn.exchange = self
        conn.prepare()
        self.state = SENT
        self.last_io = self.clock.now
        req = self.req
        parts = [self.head_a, b"host: ", self.inst.host_header, CRLF, self.head_b]
        if req.body:
            if req.chunked:
                for chunk in req.body:
                    parts.append(b"%x\r\n" % len(chunk))
                    parts.append(chunk)
                    parts.append(CRLF)
            else:
                parts.extend(req.body)
            req.body = None
            req.body_buffered = 0
        if req.body_done:
            if req.chunked:
                parts.append(CHUNK_END)
            self.body_sent = True
        conn.send(join_bytes(parts))
        if not req.body_done and self.client.reading_paused:
            self.client.resume_reading()

    # -- request body, from the client parser --------------------------------------------------
    def on_request_body(self, chunk: bytes) -> None:
        conn = self.conn
        if conn is None or self.state == DONE:
            if self.state != DONE:
                req = self.req
                if req.body is None:
                    req.body = [chunk]
                else:
                    req.body.append(chunk)
                req.body_buffered += len(chunk)
                if req.body_buffered > self.client.limits.high_water:
                    self.client.pause_reading()
            return
        if self.req.chunked:
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        else:
            conn.send(chunk)
        self.last_io = self.clock.now

    def on_request_done(self) -> None:
        conn = self.conn
        if conn is not None and self.state != DONE:
            if self.req.chunked:
                conn.send(CHUNK_END)
            self.body_sent = True

    def request_too_large(self) -> None:
        if self.state == DONE:
            return
        self._drop_conn()
        # 499, not 413: the client's oversized body says nothing about the instance's health.
        self._end_attempt(499)
        self.state = DONE
        if self.resp_started:
            self.client.close()
        else:
            self.client.respond_problem(self.req, "payload-too-large", close=True)
        self.proxy.record(self.req, self.route, self.principal, 413)

    # -- response, from the upstream parser ----------------------------------------------------
    def on_upstream_head(self, conn: UpstreamConnection, status: int) -> None:
        if status < 200:
            if status != 101:
                self.in_info = True  # 1xx interim response: not relayed
            return
        self.last_io = self.clock.now
        if status in self.route.retry_statuses and self._may_retry(str(status)):
            nxt = self.up.acquire(self.hash_key, self.inst)
            if nxt is not None and nxt is not self.inst:
                self._drop_conn()
                self._end_attempt(status)
                self._restart(nxt)
                return
            if nxt is not None:
                self.up.release(nxt, 499)  # nowhere else to go: relay this answer
        self.status = status
        self.state = RELAYING
        self.resp_started = True
        req = self.req
        out = self.out
        out.append(STATUS_LINES.get(status) or status_line(status))
        out.extend(conn.lines)
        out.append(req.request_id_line)  # the extra lines: see proxy.response_extra
        out.append(self.route.version.extra_headers)
        out.append(self.rl_lines)
        if req.head_only or status == 204 or status == 304 or conn.has_length:  # no body
            pass
        elif req.http10:
            self.keep_client = False  # HTTP/1.0 has no chunked coding: the close delimits the body
        else:
            out.append(b"transfer-encoding: chunked\r\n")
            self.chunk_out = True
        out.append(self.clock.date)
        if not self.keep_client or self.clock.closing:
            out.append(b"connection: close\r\n")
        elif req.http10:  # an HTTP/1.0 client keeps the connection only when told so
            out.append(b"connection: keep-alive\r\n")
        out.append(CRLF)
        if req.head_only:
            keep = conn.parser.should_keep_alive()
            conn.reset_parser()
            self._complete(keep)

    def on_upstream_body(self, chunk: bytes) -> None:
        if self.state != RELAYING:
            return
        if self.chunk_out:
            self.out.append(b"%x\r\n" % len(chunk))
            self.out.append(chunk)
            self.out.append(CRLF)
        else:
            self.out.append(chunk)

    def on_upstream_complete(self, conn: UpstreamConnection) -> None:
        if self.in_info:
            self.in_info = False
            return
        if self.state == RELAYING:
            self._complete(conn.parser.should_keep_alive())

    def flush(self) -> None:
        out = self.out
        if out:
            self.client.write(join_bytes(out))
            out.clear()
        self.last_io = self.clock.now

    def on_upstream_upgrade(self, conn: UpstreamConnection, tail: bytes) -> None:
        """101 Switching Protocols: relay the head, then both connections become one tunnel."""
        if self.state == DONE:
            return
        if not self.req.upgrade:
            self._failed(UpstreamProtocolError("the upstream switched protocols unasked"))
            return
        self.status = 101
        self.state = DONE
        self.resp_started = True
        head = [status_line(101), *conn.lines, b"connection: upgrade\r\n"]
        if conn.upgrade_value is not None:
            head.append(b"upgrade: " + conn.upgrade_value + CRLF)
        head.append(self._extra())
        head.append(self.clock.date)
        head.append(CRLF)
        self.client.write(join_bytes(head))
        conn.exchange = None
        self.conn = None
        tunnel = Tunnel(self.client, conn)
        conn.tunnel = tunnel
        self.client.start_tunnel(tunnel)
        if tail:
            tunnel.from_upstream(tail)
        self._end_attempt(101)
        self.proxy.record(self.req, self.route, self.principal, 101)

    def on_upstream_failed(self, conn: UpstreamConnection, err: UpstreamError) -> None:
        if conn is self.conn:
            self._failed(err)

    def on_upstream_closed(self, conn: UpstreamConnection) -> None:
        if conn is not self.conn or self.state == DONE:
            return
        if self.state == RELAYING and not conn.has_length and not conn.chunked:
            self._complete(False)  # close-delimited body: the close is its end
            return
        if (
            self.state == SENT
            and conn.requests > 1
            and not conn.got_bytes
            and self.req.method in IDEMPOTENT
            and not self.req.has_body
            and not self.fresh_retry
        ):
            # a pooled connection the upstream closed while idle (it restarted, or its keep-alive
            # timeout won the race): its pooled siblings are likely dead too; retry once, fresh
            self.fresh_retry = True
            self._drop_conn()
            self.pool.drop(conn.key)
            self.state = CONNECTING
            self.start(fresh=True)
            return
        if self.state == RELAYING:
            self._failed(UpstreamProtocolError("the upstream closed the connection mid-response"))
        else:
            self._failed(ConnectError("the upstream closed the connection without answering"))

    # -- flow control ----------------------------------------------------------------------------
    def pause_upstream(self) -> None:
        """The client's write buffer is full: stop reading the upstream."""
        conn = self.conn
        if conn is not None and not self.up_read_paused:
            self.up_read_paused = True
            conn.transport.pause_reading()

    def resume_upstream(self) -> None:
        conn = self.conn
        if conn is not None and self.up_read_paused:
            self.up_read_paused = False
            conn.transport.resume_reading()

    def upstream_write_paused(self) -> None:
        self.client.pause_reading()

    def upstream_write_resumed(self) -> None:
        self.client.resume_reading()

    # -- timeouts and aborts ---------------------------------------------------------------------
    def check(self, now: float) -> None:
        """Called by the server scan (every 0.1 s)."""
        if self.state == DONE:
            return
        if now >= self.deadline:
            self._failed(
                TotalTimeout(
                    f"no complete answer within the route's timeout of {self.route.timeout_s:g} s"
                )
            )
        elif (
            self.state != CONNECTING
            and now - self.last_io > self.read_s
            and not self.up_read_paused
        ):
            self._failed(ReadTimeout(f"the upstream sent nothing for {self.read_s:g} s"))

    def client_gone(self) -> None:
        if self.state == DONE:
            return
        self._drop_conn()
        self._end_attempt(499)
        self.state = DONE
        self.proxy.record(self.req, self.route, self.principal, 499)

    # -- endings -----------------------------------------------------------------------------
    def _complete(self, upstream_keep_alive: bool) -> None:
        out = self.out
        if self.chunk_out:
            out.append(CHUNK_END)
        if out:
            self.client.write(join_bytes(out))
            out.clear()
        self.state = DONE
        conn = self.conn
        self.conn = None
        if conn is not None:
            conn.exchange = None
            if upstream_keep_alive and self.body_sent and not self.req.upgrade:
                if self.up_read_paused:
                    conn.transport.resume_reading()
                self.pool.release(conn, self.clock.now)
            else:
                conn.close()
        self._end_attempt(self.status)
        self.proxy.record(self.req, self.route, self.principal, self.status)
        self.client.response_done(self.req, self.keep_client)

    def _failed(self, err: UpstreamError) -> None:
        if self.state == DONE:
            return
        prev = self.inst
        self._drop_conn()
        self._end_attempt(err.outcome)
        self.last_error = err
        metrics = self.proxy.metrics
        if metrics is not None:
            metrics.upstream_error(self.up.slug, err.outcome)
        if not self.resp_started and self._may_retry(err.retry_cause):
            self._next_attempt(prev)
            return
        self._give_up(err)

    def _give_up(self, err: UpstreamError) -> None:
        self.state = DONE
        self.proxy.record(self.req, self.route, self.principal, err.status)
        if self.resp_started:
            self.client.close()  # the head is out: a truncated body is all we can signal
        else:
            self.client.respond_problem(
                self.req,
                err.slug,
                detail=str(err) or None,
                extra=self._extra(),
                status=err.status,
            )

    def _may_retry(self, cause: str) -> bool:
        policy = self.route.version.retry
        req = self.req
        if not cause or cause not in policy.on or self.attempts >= policy.retries:
            return False
        if req.has_body or (req.method not in IDEMPOTENT and not policy.non_idempotent):
            return False
        return self.up.budget.try_retry()

    def _next_attempt(self, prev: Any) -> None:
        inst = self.up.acquire(self.hash_key, prev)
        if inst is None or inst is prev:
            if inst is not None:
                self.up.release(inst, 499)
            self._give_up(self.last_error or NoHealthyUpstream("no other instance to retry on"))
            return
        self._restart(inst)

    def _restart(self, inst: Any) -> None:
        self.inst = inst
        self.attempts += 1
        self.state = CONNECTING
        self.status = 0
        self.out.clear()
        self.chunk_out = False
        self.in_info = False
        self.fresh_retry = False
        self.start()

    def _drop_conn(self) -> None:
        conn = self.conn
        self.conn = None
        if conn is not None:
            conn.exchange = None
            conn.close()
        task = self.task
        if task is not None:
            self.task = None
            task.cancel()

    def _extra(self) -> bytes:
        return join_bytes(
            [self.req.request_id_line, self.route.version.extra_headers, self.rl_lines]
        )

    def _end_attempt(self, outcome: int | str) -> None:
        inst = self.inst
        if inst is not None:
            self.inst = None
            self.up.release(inst, outcome)


def new_exchange(
    proxy: Proxy,
    client: ClientProtocol,
    req: Request,
    route: Any,
    principal: Any,
    up: Any,
    inst: Any,
    hash_key: Any,
    head_a: bytes,
    head_b: bytes,
    rl_lines: bytes,
) -> Exchange:
    """The Exchange of one request. Compiled, a C call: the generic constructor would parse
    eleven arguments per request."""
    ex = Exchange.__new__(Exchange)
    # fixed for the request
    ex.proxy = proxy
    ex.pool = proxy.pool
    ex.clock = client.clock
    ex.client = client
    ex.req = req
    ex.route = route
    ex.principal = principal
    ex.up = up
    ex.hash_key = hash_key
    ex.head_a = head_a  # request line
    ex.head_b = head_b  # headers after Host, through the blank line
    ex.rl_lines = rl_lines  # RateLimit-* lines of the response
    ex.deadline = req.started + route.timeout_s
    ex.read_s = route.read_s
    ex.keep_client = req.keep_alive
    ex.attempts = 0
    ex.fresh_retry = False
    ex.last_error = None  # the UpstreamError of the last failed attempt
    # per attempt
    ex.inst = inst
    ex.conn = None
    ex.task = None  # the connect task while connecting
    ex.state = CONNECTING
    ex.status = 0
    out = ex.out = client.out  # one list per connection: only one exchange writes at a time
    if out:
        out.clear()
    ex.chunk_out = False
    ex.resp_started = False
    ex.body_sent = False
    ex.last_io = 0.0
    ex.in_info = False
    ex.up_read_paused = False
    return ex
