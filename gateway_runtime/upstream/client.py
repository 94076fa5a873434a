"""One keep-alive connection to an upstream instance, parsed with httptools.HttpResponseParser.

The connection only parses and classifies response headers; what to do with a response (relay,
retry, fail) belongs to the Exchange currently attached (`exchange`), or to a Tunnel after a 101.
Bytes arriving while no exchange is attached make the connection unusable: it is closed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httptools

import gateway_runtime.http.header_kinds as kinds
from gateway_runtime.http.headers import COLON, CRLF, response_header_kind
from gateway_runtime.upstream.errors import UpstreamProtocolError

if TYPE_CHECKING:
    from gateway_runtime.upstream.pool import PoolKey, UpstreamPool


MAX_RESPONSE_HEAD = 64 * 1024


class ResponseSink:
    """What an upstream connection reports a response to: the Exchange it carries (exchange.py).

    A base class so that the compiled connection calls these methods directly: exchange.pxd
    cimports this module, so this module cannot name the Exchange type itself."""

    resp_started: bool
    out: list[bytes]  # response bytes waiting for flush()

    def on_upstream_head(self, conn: UpstreamConnection, status: int) -> None:
        raise NotImplementedError

    def on_upstream_body(self, chunk: bytes) -> None:
        raise NotImplementedError

    def on_upstream_complete(self, conn: UpstreamConnection) -> None:
        raise NotImplementedError

    def on_upstream_failed(self, conn: UpstreamConnection, err: Exception) -> None:
        raise NotImplementedError

    def on_upstream_closed(self, conn: UpstreamConnection) -> None:
        raise NotImplementedError

    def on_upstream_upgrade(self, conn: UpstreamConnection, tail: bytes) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        raise NotImplementedError


class UpstreamConnection:
    """Parser callbacks are `on_*`; the attached exchange gets `on_upstream_*` calls.

    An asyncio protocol by its methods, not by inheritance: compiled, it is a cdef class
    (client.pxd), which cannot derive from a Python class; the loop only calls the methods."""

    def __init__(self, pool: UpstreamPool, key: PoolKey) -> None:
        self.pool = pool
        self.key = key
        self.transport: Any = None
        self.outbox = pool.outbox  # every write and close of the transport goes through it
        self.parser = httptools.HttpResponseParser(self)
        self.exchange: ResponseSink | None = None
        self.tunnel: Any = None
        self.closed = False
        self.idle_since = 0.0
        self.requests = 0  # requests sent on this connection (> 0 means a reused one)
        # the response being parsed
        self.lines: list[bytes] = []
        self.has_length = False
        self.chunked = False
        self.upgrade_value: bytes | None = None
        self.got_bytes = False
        self.head_bytes = 0

    def reset_parser(self) -> None:
        """A response without a body the parser cannot know about (HEAD) ends after its head."""
        self.parser = httptools.HttpResponseParser(self)

    # -- asyncio callbacks ---------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.tunnel is not None:
            self.tunnel.from_upstream(data)
            return
        ex = self.exchange
        if ex is None:
            self.close()
            return
        self.got_bytes = True
        if not ex.resp_started:  # bound what the parser may buffer of a response head
            self.head_bytes += len(data)
            if self.head_bytes > MAX_RESPONSE_HEAD and data.find(b"\r\n\r\n") < 0:
                ex.on_upstream_failed(
                    self,
                    UpstreamProtocolError(
                        f"the upstream's response head exceeds {MAX_RESPONSE_HEAD} bytes"
                    ),
                )
                return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            if self.exchange is ex:
                ex.on_upstream_upgrade(self, data[exc.args[0] :])
            return
        except httptools.HttpParserError:
            if self.exchange is ex:
                ex.on_upstream_failed(
                    self, UpstreamProtocolError("the upstream sent an invalid response")
                )
            return
        if ex.out:
            ex.flush()

    def eof_received(self) -> bool:
        if self.tunnel is not None:
            return self.tunnel.upstream_eof()
        ex = self.exchange
        if ex is not None:
            ex.on_upstream_closed(self)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.tunnel is not None:
            self.tunnel.upstream_lost()
            return
        ex = self.exchange
        if ex is not None:
            ex.on_upstream_closed(self)

    def pause_writing(self) -> None:
        target = self.tunnel if self.tunnel is not None else self.exchange
        if target is not None:
            target.upstream_write_paused()

    def resume_writing(self) -> None:
        target = self.tunnel if self.tunnel is not None else self.exchange
        if target is not None:
            target.upstream_write_resumed()

    # -- parser callbacks ----------------------------------------------------------------------
    # No on_message_begin: httptools skips callbacks a protocol lacks, and the per-response state
    # is reset by prepare() (per request) and after each head (lines).
    def prepare(self) -> None:
        """Reset per-response state before a request is sent on this connection."""
        self.lines.clear()
        self.has_length = False
        self.chunked = False
        self.upgrade_value = None
        self.got_bytes = False
        self.head_bytes = 0
        self.requests += 1

    def on_header(self, name: bytes, value: bytes) -> None:
        kind = response_header_kind(name)
        if kind != kinds.RESP_FORWARD:
            if kind == kinds.RESP_LENGTH:
                self.has_length = True
            else:
                if kind == kinds.RESP_CHUNKED:
                    self.chunked = True
                elif kind == kinds.RESP_UPGRADE:
                    self.upgrade_value = value
                return
        # kept, as its four pieces: the exchange joins the whole response head once
        lines = self.lines
        lines.append(name)
        lines.append(COLON)
        lines.append(value)
        lines.append(CRLF)

    def on_headers_complete(self) -> None:
        ex = self.exchange
        status = self.parser.get_status_code()
        if ex is not None:
            ex.on_upstream_head(self, status)
        if status != 101:  # a 101's head is relayed after the parser stops (on_upstream_upgrade)
            self.lines.clear()

    def on_body(self, chunk: bytes) -> None:
        ex = self.exchange
        if ex is not None:
            ex.on_upstream_body(chunk)

    def on_message_complete(self) -> None:
        ex = self.exchange
        if ex is not None:
            ex.on_upstream_complete(self)

    # -- used by the exchange ------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        if not self.closed:
            self.outbox.write(self.transport, data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.outbox.close(self.transport)
