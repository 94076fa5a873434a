"""A raw byte tunnel between a client and an upstream connection after a 101 (WebSocket).

No parsing: bytes are copied both ways with backpressure; a half-close is passed on, and when
either side is gone the other is closed.
"""

from __future__ import annotations

from typing import Any


class Tunnel:
    """Both directions of one upgraded connection."""

    __slots__ = ("client", "conn", "client_eofed", "upstream_eofed")

    def __init__(self, client: Any, conn: Any) -> None:
        self.client = client
        self.conn = conn
        self.client_eofed = False
        self.upstream_eofed = False

    def from_client(self, data: bytes) -> None:
        self.conn.send(data)

    def from_upstream(self, data: bytes) -> None:
        self.client.write(data)

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
