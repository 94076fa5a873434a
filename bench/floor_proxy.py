"""The floor of a uvloop + httptools proxy: what forwarding alone costs, with no gateway logic.

    .venv/bin/python bench/floor_proxy.py LISTEN_PORT UPSTREAM_PORT [UPSTREAM_PORT ...]

Not a product: GET-only, bodiless requests, keep-alive both sides, no routing, auth, limits,
metrics or error handling. gateway_bench.py --floor runs it beside nginx and MeshGate so the
report can say how much of MeshGate's per-request cost is the runtime (event loop, parser,
syscalls) and how much is the gateway's own work on top of it.
"""

from __future__ import annotations

import asyncio
import sys

import httptools
import uvloop


class Upstream(asyncio.Protocol):
    """One pooled keep-alive connection; relays one response at a time to its client."""

    def __init__(self, pool: list[Upstream]) -> None:
        self.pool = pool
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.client: Client | None = None
        self.head: list[bytes] = []
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.head.append(name + b": " + value + b"\r\n")

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        status = b"HTTP/1.1 %d OK\r\n" % self.parser.get_status_code()
        out = b"".join([status, *self.head, b"\r\n", *self.body])
        self.head, self.body = [], []
        client, self.client = self.client, None
        self.pool.append(self)
        # wrk closes its connections at the end of a run with requests in flight
        if client is not None and not client.transport.is_closing():
            client.transport.write(out)

    def connection_lost(self, exc: Exception | None) -> None:
        if self in self.pool:
            self.pool.remove(self)


class Client(asyncio.Protocol):
    def __init__(self, upstreams: list[tuple[list[Upstream], bytes]]) -> None:
        self.upstreams = upstreams
        self.turn = 0
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.url = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_message_complete(self) -> None:
        self.turn ^= 1
        pool, host = self.upstreams[self.turn % len(self.upstreams)]
        while pool and pool[-1].transport.is_closing():
            pool.pop()
        if pool:
            self._send(pool.pop(), host)
        else:
            asyncio.get_running_loop().create_task(self._connect_and_send(pool, host))

    async def _connect_and_send(self, pool: list[Upstream], host: bytes) -> None:
        self._send(await _connect(pool, host), host)

    def _send(self, upstream: Upstream, host: bytes) -> None:
        upstream.client = self
        upstream.transport.write(b"GET " + self.url + b" HTTP/1.1\r\nhost: " + host + b"\r\n\r\n")


async def _connect(pool: list[Upstream], host: bytes) -> Upstream:
    name, port = host.decode().split(":")
    loop = asyncio.get_running_loop()
    _, upstream = await loop.create_connection(lambda: Upstream(pool), name, int(port))
    return upstream


async def serve(listen_port: int, upstream_ports: list[int]) -> None:
    upstreams = [([], b"127.0.0.1:%d" % port) for port in upstream_ports]
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Client(upstreams), "127.0.0.1", listen_port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    ports = [int(arg) for arg in sys.argv[1:]]
    uvloop.run(serve(ports[0], ports[1:]))
