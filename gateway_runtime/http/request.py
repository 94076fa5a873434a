"""Per-request state filled by the client parser and read by the proxy pipeline."""

from __future__ import annotations

from typing import Any

import gateway_runtime.http.header_kinds as kinds
from gateway_runtime.http.headers import lower_name, request_header_kind

try:
    import cython
except ImportError:  # plain Python without Cython installed: the decorators change nothing
    from gateway_runtime import cython_shadow as cython


# One Request per request: compiled, up to 64 freed ones are kept for reuse, so that making one
# costs no allocation (nor a count towards the next garbage collection).
@cython.freelist(64)
@cython.cclass
class Request:
    """One parsed request. Ordinary headers are kept as rendered lines (`fwd`) ready to forward;
    headers the gateway rewrites or needs are captured into attributes; `header()` finds any."""

    def __init__(self, started: float) -> None:
        self.method = b""
        self.url = b""
        self.path = b""
        self.query = b""
        self.fwd: list[bytes] = []  # forwarded headers as (name, ": ", value, CRLF) pieces
        self.host = b""
        self.host_seen = False  # a Host header came (even an empty one)
        # read by auth on every request (forwarded too, in `fwd`): the last one of each
        self.api_key: bytes | None = None
        self.authorization: bytes | None = None
        # the other captured headers (header_kinds below REQ_KNOWN, but Host), by lower-case name:
        # rare, so made for the first one
        self.held: dict[bytes, bytes] | None = None
        self.content_length = -1
        self.chunked = False
        self.keep_alive = True
        self.upgrade = False
        self.expect_continue = False
        self.conn_tokens: bytes | None = None
        self.xff: bytes | None = None
        self.xfh: bytes | None = None
        self.forwarded: bytes | None = None
        self.request_id: bytes | None = None
        self.request_id_line = b""  # b"x-request-id: ...\r\n", set by the proxy
        self.traceparent: bytes | None = None
        self.started = started
        # body bytes waiting for an upstream connection (bounded: reading pauses above high water)
        self.body: list[bytes] | None = None
        self.body_buffered = 0
        self.body_received = 0
        self.body_done = False
        self.exchange: Any = None
        self.head_only = False
        self.responded = False
        self.route_max_body = -1
        self.discard_body = False
        self.http10 = False

    def header(self, name: bytes) -> bytes | None:
        """The value of the request header `name` (lower case), the last one when repeated, or
        None. For the pipeline, before the proxy appends its own lines to `fwd`."""
        kind = request_header_kind(name)
        if kind == kinds.REQ_HOST:
            return self.host if self.host_seen else None
        if kind == kinds.REQ_X_API_KEY:
            return self.api_key
        if kind == kinds.REQ_AUTHORIZATION:
            return self.authorization
        if kind != kinds.REQ_FORWARD and kind < kinds.REQ_KNOWN:
            return self.held.get(name) if self.held is not None else None
        value = None
        fwd = self.fwd
        for i in range(0, len(fwd) - 3, 4):
            if lower_name(fwd[i]) == name:
                value = fwd[i + 2]
        return value

    @property
    def has_body(self) -> bool:
        return self.chunked or self.content_length > 0
