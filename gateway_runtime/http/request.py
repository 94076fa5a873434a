"""Per-request state filled by the client parser and read by the proxy pipeline."""

from __future__ import annotations

from typing import Any

try:
    import cython
except ImportError:  # plain Python without Cython installed: the decorators change nothing
    import types

    cython = types.SimpleNamespace(freelist=lambda size: lambda cls: cls, cclass=lambda cls: cls)


# One Request per request: compiled, up to 64 freed ones are kept for reuse, so that making one
# costs no allocation (nor a count towards the next garbage collection).
@cython.freelist(64)
@cython.cclass
class Request:
    """One parsed request. Ordinary headers are kept as rendered lines (`fwd`) ready to forward;
    headers the gateway rewrites or needs are captured into attributes and `headers`."""

    def __init__(self, started: float) -> None:
        self.method = b""
        self.url = b""
        self.path = b""
        self.query = b""
        # lower-cased name -> value, for auth, hashing and anything else that looks a header up
        self.headers: dict[bytes, bytes] = {}
        self.fwd: list[bytes] = []  # forwarded headers as (name, ": ", value, CRLF) pieces
        self.host = b""
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

    @property
    def has_body(self) -> bool:
        return self.chunked or self.content_length > 0
