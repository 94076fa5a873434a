"""A tiny blocking HTTP/1.1 client over a raw socket, for tests that need control of the bytes:
pipelining, malformed requests, half-sent requests, reading several responses from one connection.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

import orjson


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    header_list: list[tuple[str, str]] = field(default_factory=list)

    def json(self) -> Any:
        return orjson.loads(self.body)


class RawClient:
    """One connection: `request()` sends and reads one response (`send` + `read_response`)."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 5.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = bytearray()

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> Response:
        hdrs = {"Host": "gw.test", **(headers or {})}
        if body and "Transfer-Encoding" not in hdrs:
            hdrs.setdefault("Content-Length", str(len(body)))
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
        self.send(head.encode("latin-1") + b"\r\n" + body)
        return self.read_response(head_only=method == "HEAD")

    def _fill(self) -> bool:
        data = self.sock.recv(1 << 20)
        if not data:
            return False
        self.buf += data
        return True

    def _take_line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError("connection closed mid-line")
        i = self.buf.index(b"\r\n")
        line = bytes(self.buf[:i])
        del self.buf[: i + 2]
        return line

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionError("connection closed mid-body")
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_response(self, head_only: bool = False) -> Response:
        """One response; interim 1xx responses (other than 101) are returned as they come."""
        status_line = self._take_line()
        status = int(status_line.split(b" ", 2)[1])
        header_list: list[tuple[str, str]] = []
        while True:
            line = self._take_line()
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            header_list.append((name.strip().lower(), value.strip()))
        headers = dict(header_list)
        if head_only or status < 200 or status in (204, 304):
            body = b""
        elif "content-length" in headers:
            body = self._take(int(headers["content-length"]))
        elif "chunked" in headers.get("transfer-encoding", ""):
            parts = []
            while True:
                size = int(self._take_line().split(b";")[0], 16)
                if size == 0:
                    self._take_line()
                    break
                parts.append(self._take(size))
                self._take(2)
            body = b"".join(parts)
        else:
            while self._fill():
                pass
            body = bytes(self.buf)
            self.buf.clear()
        return Response(status, headers, body, header_list)

    def is_closed(self, timeout: float = 2.0) -> bool:
        """True when the server closed the connection (EOF or reset) within `timeout`."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False
        if data:
            self.buf += data
            return False
        return True
