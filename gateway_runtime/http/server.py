"""The client-facing HTTP/1.1 server: protocol factory, one coarse timer, graceful shutdown.

Each connection is a ClientProtocol (http/connection.py). Timeouts are checked by one scan per
server every 0.1 s instead of a timer per request; the same scan refreshes the cached Date header
and the coarse clocks (`now`, `wall`) the hot path reads instead of calling time functions.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING, Protocol

from gateway_runtime.http.clock import Clock
from gateway_runtime.http.connection import ClientProtocol
from gateway_runtime.http.headers import CRLF
from gateway_runtime.http.outbox import Outbox

if TYPE_CHECKING:
    from gateway_runtime.http.request import Request
    from gateway_runtime.proxy import ProxyContext
    from gateway_runtime.settings import GatewaySettings

__all__ = ["ClientProtocol", "HttpLimits", "ProxyServer", "make_server_factory"]

SCAN_INTERVAL = 0.1


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """Client-side limits; the defaults follow nginx's spirit (seconds, bytes)."""

    max_header_bytes: int = 16384
    header_timeout: float = 10.0
    idle_timeout: float = 75.0
    body_timeout: float = 30.0
    high_water: int = 256 * 1024
    max_pipeline: int = 32
    websocket_idle_timeout: float = 3600.0  # no byte either way this long: close (0 = never)

    @classmethod
    def from_settings(cls, settings: GatewaySettings) -> HttpLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            header_timeout=settings.header_timeout,
            idle_timeout=settings.idle_timeout,
            body_timeout=settings.body_timeout,
            max_pipeline=settings.max_pipeline,
            websocket_idle_timeout=settings.websocket_idle_timeout,
        )


class Dispatcher(Protocol):
    def dispatch(self, client: ClientProtocol, req: Request) -> None: ...

    def sweep(self, now: float) -> None: ...

    def busy(self) -> bool: ...

    def close(self) -> None: ...


def date_line() -> bytes:
    return b"date: " + formatdate(usegmt=True).encode() + CRLF


class ProxyServer:
    """Protocol factory for `loop.create_server`, the per-server timer and graceful shutdown."""

    def __init__(
        self, dispatcher: Dispatcher, limits: HttpLimits, outbox: Outbox | None = None
    ) -> None:
        self.dispatcher = dispatcher
        self.limits = limits
        self.outbox = outbox if outbox is not None else Outbox()
        self.connections: set[ClientProtocol] = set()
        self.clock = Clock()  # read per request by connections, exchanges and the proxy
        self.clock.date = date_line()
        self.clock.wall = time.time()
        self._scan_handle: asyncio.TimerHandle | None = None
        self._scans = 0
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]  # first connection

    def __call__(self) -> ClientProtocol:
        return ClientProtocol(self)

    def tick(self, now: float | None = None) -> None:
        """Refresh the cached Date header (the worker's 1 s tick; the scan also does it)."""
        self.clock.date = date_line()

    def ensure_scan(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._scan_handle is None:  # (re)starting after an idle spell: clocks may be stale
            self.loop = loop
            clock = self.clock
            clock.loop_time = loop.time
            clock.now = loop.time()
            clock.wall = time.time()
            clock.date = date_line()
            self._scan_handle = loop.call_later(SCAN_INTERVAL, self._scan, loop)

    def _scan(self, loop: asyncio.AbstractEventLoop) -> None:
        self._scan_handle = None
        clock = self.clock
        clock.now = now = loop.time()
        clock.wall = time.time()
        self._scans += 1
        if self._scans % 10 == 0:
            clock.date = date_line()
            self.dispatcher.sweep(now)
        for conn in list(self.connections):
            conn.check(now)
        if self.connections or self.dispatcher.busy():
            self.ensure_scan(loop)

    async def shutdown(self, timeout: float = 10.0) -> None:
        """Stop keep-alive, close idle connections, give in-flight requests `timeout` s."""
        self.clock.closing = True
        for conn in list(self.connections):
            if conn.is_idle():
                conn.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.connections and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for conn in list(self.connections):
            conn.abort()
        self.dispatcher.close()


def make_server_factory(ctx: ProxyContext) -> ProxyServer:
    """Build the worker's proxy server: `await loop.create_server(server, sock=sock)`."""
    from gateway_runtime.proxy import Proxy

    outbox = Outbox()  # shared by client and upstream connections: one flush per iteration
    proxy = Proxy(ctx, outbox)
    server = ProxyServer(proxy, ctx.limits, outbox)
    proxy.server = server
    proxy.clock = server.clock
    return server
