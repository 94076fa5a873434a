"""Real upstream servers for gateway tests, each on its own asyncio loop in a background thread.

`Upstream` speaks HTTP/1.1 with keep-alive and answers by path:
  /echo...            200 JSON: method, target, headers, body length, body (first 64 KiB, latin-1)
  /status/<code>      that status with a small JSON body
  /sleep/<seconds>    waits, then 200
  /stream/<n>/<size>  chunked response of n chunks of `size` bytes (optional ?delay=seconds)
  /big/<bytes>        a Content-Length body of that many bytes
  /sink               reads the request body without keeping it, answers {"received": n}
  /close              a body delimited by closing the connection (no Content-Length)
  /head-chunked       chunked body (to check HEAD handling)
  /endless-head       a response header line that never ends (4 MiB, then close)
  /early-hints        a 103 interim response, then 200
Every response carries `x-upstream: <name>`. `connections` counts accepted TCP connections,
`requests` the requests, `seen` keeps each request's headers (lower-cased names).

`WsUpstream` is a WebSocket echo server (the `websockets` package). `Blackhole` is a listening
socket whose accept queue is full, so a connect to it hangs (connect-timeout tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator
from typing import Any

import orjson

from portal.local_redis import free_port


class _LoopThread:
    """An event loop running in a daemon thread; `call(coro)` runs a coroutine on it."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop or asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Any, timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class Upstream:
    """An HTTP/1.1 test upstream. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        name: str = "up",
        host: str = "127.0.0.1",
        port: int | None = None,
        fail_status: int | None = None,
    ) -> None:
        self.name = name
        self.fail_status = fail_status  # answer every request with this status
        self.host = host
        self.port = port or free_port()
        self.connections = 0
        self.requests = 0
        self.open_connections = 0
        self.seen: list[dict[str, str]] = []
        self.targets: list[str] = []
        self._runner: _LoopThread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Upstream:
        self._runner = _LoopThread()
        self._server = self._runner.call(asyncio.start_server(self._handle, self.host, self.port))
        return self

    def stop(self) -> None:
        if self._runner is None:
            return
        self._runner.call(self._close())
        self._runner.stop()
        self._runner = None

    def kill_connections(self) -> None:
        """Close every open client connection (keeps listening)."""
        if self._runner is not None:
            self._runner.call(self._drop_writers())

    async def _drop_writers(self) -> None:
        for writer in list(self._writers):
            writer.close()

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._drop_writers()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    def __enter__(self) -> Upstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- serving -------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_connections += 1
        self._writers.add(writer)
        try:
            while await self._one(reader, writer):
                pass
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self.open_connections -= 1
            self._writers.discard(writer)
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        self.requests += 1
        self.seen.append(headers)
        self.targets.append(target)
        body = _body(reader, headers)
        keep = headers.get("connection", "").lower() != "close"
        path = target.split("?", 1)[0]
        parts = [p for p in path.split("/") if p]
        handler, args = _echo, parts
        if self.fail_status is not None:
            handler, args = _status, [str(self.fail_status)]
        for i, part in enumerate(parts if self.fail_status is None else ()):
            if part in _ROUTES:
                handler, args = _ROUTES[part], parts[i + 1 :]
                break
        return await handler(self, method, target, args, headers, body, writer) and keep

    def respond(
        self,
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
    ) -> None:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        writer.write(
            f"HTTP/1.1 {status} X\r\ncontent-length: {len(body)}\r\nx-upstream: {self.name}\r\n"
            f"content-type: application/json\r\n{extra}\r\n".encode()
            + body
        )


async def _body(reader: asyncio.StreamReader, headers: dict[str, str]) -> AsyncIterator[bytes]:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return
            remaining = size
            while remaining:
                chunk = await reader.read(min(remaining, 1 << 18))
                if not chunk:
                    raise asyncio.IncompleteReadError(b"", remaining)
                remaining -= len(chunk)
                yield chunk
            await reader.readexactly(2)
    else:
        remaining = int(headers.get("content-length", "0") or 0)
        while remaining:
            chunk = await reader.read(min(remaining, 1 << 18))
            if not chunk:
                raise asyncio.IncompleteReadError(b"", remaining)
            remaining -= len(chunk)
            yield chunk


async def _drain_body(body: AsyncIterator[bytes], keep: int = 0) -> tuple[int, bytes]:
    total = 0
    kept = bytearray()
    async for chunk in body:
        total += len(chunk)
        if len(kept) < keep:
            kept += chunk[: keep - len(kept)]
    return total, bytes(kept)


async def _echo(
    up: Upstream,
    method: str,
    target: str,
    parts: list[str],
    headers: dict[str, str],
    body: AsyncIterator[bytes],
    writer: asyncio.StreamWriter,
) -> bool:
    total, kept = await _drain_body(body, 65536)
    doc = {
        "method": method,
        "target": target,
        "headers": headers,
        "body_len": total,
        "body": kept.decode("latin-1"),
        "upstream": up.name,
    }
    payload = orjson.dumps(doc)
    up.respond(
        writer,
        200,
        b"" if method == "HEAD" else payload,
        {"content-length": str(len(payload))} if method == "HEAD" else None,
    )
    return True


async def _status(
    up: Upstream,
    method: str,
    target: str,
    parts: list[str],
    headers: dict[str, str],
    body: AsyncIterator[bytes],
    writer: asyncio.StreamWriter,
) -> bool:
    await _drain_body(body)
    code = int(parts[0])
    up.respond(writer, code, b"" if code in (204, 304) else orjson.dumps({"status": code}))
    return True


async def _sleep(
    up: Upstream,
    method: str,
    target: str,
    parts: list[str],
    headers: dict[str, str],
    body: AsyncIterator[bytes],
    writer: asyncio.StreamWriter,
) -> bool:
    await _drain_body(body)
    await asyncio.sleep(float(parts[0]))
    up.respond(writer, 200, b'{"slept": true}')
    return True


async def _stream(
    up: Upstream,
    method: str,
    target: str,
    parts: list[str],
    headers: dict[str, str],
    body: AsyncIterator[bytes],
    writer: asyncio.StreamWriter,
) -> bool:
    await _drain_body(body)
    count, size = int(parts[0]), int(parts[1])
    delay = float(target.split("delay=", 1)[1]) if "delay=" in target else 0.0
    writer.write(
        f"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nx-upstream: {up.name}\r\n\r\n".encode()
    )
    for i in range(count):
        chunk = bytes([97 + i % 26]) * size
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()
        if delay:
            await asyncio.sleep(delay)
    writer.write(b"0\r\n\r\n")
    return True


async def _big(
    up: Upstream,
    method: str,
    target: str,
    parts: list[str],
    headers: dict[str, str],
    body: AsyncIterator[bytes],
    writer: asyncio.StreamWriter,
) -> bool:
    await _drain_body(body)
    size = int(parts[0])
    writer.write(
        f"HTTP/1.1 200 OK\r\ncontent-length: {size}\r\nx-upstream: {up.name}\r\n\r\n".encode()
    )
    block = b"z" * (1 << 20)
    left = size
    while left:
        n = min(left, len(block))
        writer.write(block[:n])
        left -= n
        await writer.drain()
    return True


async def _sink(
    up: Upstream,
    method: str,
    target: str,
    parts: list[str],
    headers: dict[str, str],
    body: AsyncIterator[bytes],
    writer: asyncio.StreamWriter,
) -> bool:
    total, _ = await _drain_body(body)
    up.respond(writer, 200, orjson.dumps({"received": total}))
    return True


async def _close(
    up: Upstream,
    method: str,
    target: str,
    parts: list[str],
    headers: dict[str, str],
    body: AsyncIterator[bytes],
    writer: asyncio.StreamWriter,
) -> bool:
    await _drain_body(body)
    writer.write(
        f"HTTP/1.1 200 OK\r\nx-upstream: {up.name}\r\nconnection: close\r\n\r\n".encode()
        + b"until-close-body"
    )
    await writer.drain()
    return False


async def _head_chunked(
    up: Upstream,
    method: str,
    target: str,
    parts: list[str],
    headers: dict[str, str],
    body: AsyncIterator[bytes],
    writer: asyncio.StreamWriter,
) -> bool:
    await _drain_body(body)
    writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    if method != "HEAD":
        writer.write(b"5\r\nhello\r\n0\r\n\r\n")
    return True


async def _endless_head(
    up: Upstream,
    method: str,
    target: str,
    parts: list[str],
    headers: dict[str, str],
    body: AsyncIterator[bytes],
    writer: asyncio.StreamWriter,
) -> bool:
    await _drain_body(body)
    writer.write(b"HTTP/1.1 200 OK\r\nX-Endless: ")
    for _ in range(64):
        writer.write(b"a" * 65536)
        await writer.drain()
    return False


async def _early_hints(
    up: Upstream,
    method: str,
    target: str,
    parts: list[str],
    headers: dict[str, str],
    body: AsyncIterator[bytes],
    writer: asyncio.StreamWriter,
) -> bool:
    await _drain_body(body)
    writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
    await writer.drain()
    up.respond(writer, 200, b'{"final": true}')
    return True


_ROUTES: dict[str, Any] = {
    "status": _status,
    "sleep": _sleep,
    "stream": _stream,
    "big": _big,
    "sink": _sink,
    "close": _close,
    "head-chunked": _head_chunked,
    "endless-head": _endless_head,
    "early-hints": _early_hints,
}


class WsUpstream:
    """A WebSocket echo server (prefixes each echoed message with `echo:`)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port()
        self.paths: list[str] = []
        self._runner: _LoopThread | None = None
        self._server: Any = None

    def start(self) -> WsUpstream:
        from websockets.asyncio.server import serve

        async def echo(ws: Any) -> None:
            self.paths.append(ws.request.path)
            async for message in ws:
                await ws.send(("echo:" + message) if isinstance(message, str) else message)

        async def open_server() -> Any:
            return await serve(echo, self.host, self.port, max_size=None, compression=None)

        self._runner = _LoopThread()
        self._server = self._runner.call(open_server())
        return self

    def stop(self) -> None:
        if self._runner is None:
            return

        async def close() -> None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

        self._runner.call(close())
        self._runner.stop()
        self._runner = None


class DeadPort:
    """A port bound but not listening: connects are refused, and no other process can take it
    meanwhile (a bare free_port() number could be reused by a parallel test run)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    def __enter__(self) -> DeadPort:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


class Blackhole:
    """A port that accepts TCP handshakes into a full backlog and never answers: connects hang."""

    def __init__(self) -> None:
        self.port = free_port()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(0)
        self._fillers: list[socket.socket] = []
        for _ in range(4):  # fill the accept queue; later SYNs are dropped
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError, OSError):
                filler.connect(("127.0.0.1", self.port))
            self._fillers.append(filler)

    def close(self) -> None:
        for filler in self._fillers:
            filler.close()
        self.sock.close()


_MOVED = {"proxy_routes", "proxy_document", "write_proxy_config", "spawn_gateway", "LocalGateway"}


def __getattr__(name: str) -> Any:
    """The gateway harnesses moved to proxy_harness.py; old imports from here keep working."""
    if name in _MOVED:
        from tests.gateway_runtime import proxy_harness

        return getattr(proxy_harness, name)
    raise AttributeError(name)
