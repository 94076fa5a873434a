"""Keep-alive connections to upstream instances, pooled per (scheme, host, port).

LIFO per key so the warmest connection is reused first and the cold tail ages out; idle
connections older than `idle_timeout` are closed by `sweep` (kept below the usual 5 s keep-alive
of upstream servers, so a pooled connection is rarely closed under our feet).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import TYPE_CHECKING

from gateway_runtime.http.outbox import Outbox
from gateway_runtime.upstream.client import UpstreamConnection
from gateway_runtime.upstream.errors import ConnectError, ConnectTimeout

if TYPE_CHECKING:
    PoolKey = tuple[str, str, int]


class UpstreamPool:
    """Idle upstream connections of one worker, and the one place new ones are opened."""

    def __init__(
        self, max_idle_per_host: int = 64, idle_timeout: float = 3.5, outbox: Outbox | None = None
    ) -> None:
        self.outbox = outbox if outbox is not None else Outbox()
        self.max_idle_per_host = max_idle_per_host
        self.idle_timeout = idle_timeout
        self.idle: dict[PoolKey, list[UpstreamConnection]] = {}
        self.opened = 0
        self._ssl: ssl.SSLContext | None = None

    def acquire(self, key: PoolKey) -> UpstreamConnection | None:
        """The most recently released live connection for `key`, or None."""
        stack = self.idle.get(key)
        while stack:
            conn = stack.pop()
            if not conn.closed:
                return conn
        return None

    def release(self, conn: UpstreamConnection, now: float) -> None:
        """Give a connection whose response completed cleanly back to the pool."""
        if conn.closed:
            return
        stack = self.idle.get(conn.key)
        if stack is None:
            stack = self.idle[conn.key] = []
        if len(stack) >= self.max_idle_per_host:
            conn.close()
            return
        conn.idle_since = now
        stack.append(conn)

    async def connect(self, key: PoolKey, timeout: float) -> UpstreamConnection:
        """Open a new connection; ConnectTimeout or ConnectError on failure."""
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        tls = self._ssl_context() if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    lambda: UpstreamConnection(self, key),
                    host,
                    port,
                    ssl=tls,
                    server_hostname=host if tls is not None else None,
                )
        except TimeoutError:
            raise ConnectTimeout(f"no connection to {host}:{port} within {timeout:g} s") from None
        except OSError as exc:
            raise ConnectError(f"connect to {host}:{port} failed: {exc.strerror or exc}") from None
        self.opened += 1
        return conn

    def drop(self, key: PoolKey) -> None:
        """Close every idle connection to `key` (one of them turned out dead)."""
        for conn in self.idle.pop(key, ()):
            conn.close()

    def sweep(self, now: float) -> None:
        """Close connections idle for longer than idle_timeout, drop dead ones."""
        limit = now - self.idle_timeout
        for key, stack in list(self.idle.items()):
            keep = [c for c in stack if not c.closed and c.idle_since >= limit]
            for conn in stack:
                if not conn.closed and conn.idle_since < limit:
                    conn.close()
            if keep:
                self.idle[key] = keep
            else:
                del self.idle[key]

    def close(self) -> None:
        for stack in self.idle.values():
            for conn in stack:
                conn.close()
        self.idle.clear()

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl
