"""A raw byte tunnel between a client and an upstream connection after a 101 (WebSocket).

No parsing: bytes are copied both ways with backpressure; a half-close is passed on, and when
either side is gone the other is closed. A tunnel with no byte either way for the
websocket idle timeout is closed on both sides by the server's 0.1 s scan (`check`).
"""

from __future__ import annotations

from typing import Any


class Tunnel:
    """Both directions of one upgraded connection."""

    __slots__ = ("client", "conn", "client_eofed", "upstream_eofed", "clock", "last_active")

    def __init__(self, client: Any, conn: Any) -> None:
        self.client = client
        self.conn = conn
        self.client_eofed = False
        self.upstream_eofed = False
        # The server's coarse clock (`now`, refreshed by its scan): one attribute read per
        # chunk instead of a time call, and the scan that reads `last_active` keeps it fresh.
        self.clock = client.clock
        self.last_active: float = self.clock.now

    def from_client(self, data: bytes) -> None:
        self.last_active = self.clock.now
        self.conn.send(data)

    def from_upstream(self, data: bytes) -> None:
        self.last_active = self.clock.now
        self.client.write(data)

    def check(self, now: float, limits: Any) -> None:
        """The scan's idle check (HttpLimits.websocket_idle_timeout; 0 = never)."""
        timeout = limits.websocket_idle_timeout
        if timeout and now - self.last_active > timeout:
            self.close()

    def client_eof(self) -> bool:
        self.client_eofed = True
        return self._half_close(self.conn.transport, self.upstream_eofed)

    def upstream_eof(self) -> bool:
        self.upstream_eofed = True
        return self._half_close(self.client.transport, self.client_eofed)

    def _half_close(self, other: Any, other_done: bool) -> bool:
        if other_done or not other.can_write_eof():
            self.close()
            return False
        other.write_eof()
        return True

    def client_lost(self) -> None:
        self.conn.close()

    def upstream_lost(self) -> None:
        self.client.close()

    def close(self) -> None:
        self.conn.close()
        self.client.close()

    # client write buffer full -> stop reading the upstream, and the reverse
    def pause_upstream(self) -> None:
        if not self.conn.closed:
            self.conn.transport.pause_reading()

    def resume_upstream(self) -> None:
        if not self.conn.closed:
            self.conn.transport.resume_reading()

    def upstream_write_paused(self) -> None:
        self.client.pause_reading()

    def upstream_write_resumed(self) -> None:
        self.client.resume_reading()
