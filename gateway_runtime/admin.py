"""The admin listener: /healthz, /readyz, /status, /metrics on its own port.

Deliberately simple (one request per connection, Connection: close): it is scraped a few
times a minute, never on the data path. Every worker opens it with SO_REUSEPORT, so a
request is answered by whichever worker the kernel picks; /status names that worker, and
/metrics gathers every worker's series (each labelled worker="<index>") through a small
per-worker Unix socket, so a scrape sees the whole gateway whichever worker answers.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

log = logging.getLogger("gateway_runtime.admin")

MAX_HEAD_BYTES = 8192
READ_TIMEOUT_S = 5.0
_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    503: "Service Unavailable",
}

Status = Callable[[], dict[str, Any]]
Metrics = Callable[[], Awaitable[tuple[bytes, str]]]
Ready = Callable[[], bool]


class AdminApp:
    """Routes the four paths to the worker's callbacks."""

    def __init__(self, ready: Ready, status: Status, metrics: Metrics) -> None:
        self.ready = ready
        self.status = status
        self.metrics = metrics

    def respond(self, method: str, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) for one request."""
        path = path.split("?", 1)[0]
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"only GET\n"
        if path == "/healthz":
            return 200, "text/plain", b"ok\n"
        if path == "/readyz":
            if self.ready():
                return 200, "text/plain", b"ready\n"
            return 503, "text/plain", b"no configuration loaded yet\n"
        if path == "/status":
            return 200, "application/json", orjson.dumps(self.status(), option=orjson.OPT_INDENT_2)
        return 404, "text/plain", b"not found: try /healthz, /readyz, /status, /metrics\n"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
            method, path = _request_line(head)
            if not method:
                status, content_type, body = 400, "text/plain", b"bad request\n"
            elif method in ("GET", "HEAD") and path.split("?", 1)[0] == "/metrics":
                status = 200
                body, content_type = await self.metrics()
            else:
                status, content_type, body = self.respond(method, path)
            writer.write(
                _response(status, content_type, b"" if method == "HEAD" else body, len(body))
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except ConnectionError:
            pass
        except Exception:  # a bug in a status callback must not kill the listener
            log.exception("admin request failed")
            writer.write(_response(500, "text/plain", b"internal error\n", 15))
        finally:
            writer.close()


def _request_line(head: bytes) -> tuple[str, str]:
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        return "", ""
    return parts[0].decode("latin-1"), parts[1].decode("latin-1")


def _response(status: int, content_type: str, body: bytes, length: int) -> bytes:
    reason = _REASONS.get(status, "Internal Server Error")
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {length}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


async def start_admin(app: AdminApp, sock: socket.socket) -> asyncio.AbstractServer:
    """Serve `app` on an already listening socket."""
    return await asyncio.start_server(app.handle, sock=sock, limit=MAX_HEAD_BYTES)


# ---------------------------------------------------------------------------- all workers


async def read_peer(name: str, timeout: float = 2.0) -> bytes | None:
    """Another worker's own metrics text from its Unix socket; None if it does not answer."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        # Connect by hand: uvloop's open_unix_connection(path) rejects abstract names.
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, name), timeout)
        reader, writer = await asyncio.open_unix_connection(sock=sock)
    except (OSError, TimeoutError):
        sock.close()
        return None
    try:
        return await asyncio.wait_for(reader.read(), timeout)
    except (OSError, TimeoutError):
        return None
    finally:
        writer.close()


def merge_expositions(parts: Iterable[tuple[str, bytes]]) -> bytes:
    """One exposition from several workers' texts: same families, a `worker` label added."""
    families: dict[str, Metric] = {}
    for worker, text in parts:
        for family in text_string_to_metric_families(text.decode()):
            merged = families.get(family.name)
            if merged is None:
                merged = Metric(family.name, family.documentation, family.type, family.unit)
                families[family.name] = merged
            for sample in family.samples:
                labels = {**sample.labels, "worker": worker}
                merged.samples.append(sample._replace(labels=labels))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed(list(families.values())))
    return generate_latest(registry)


class _Fixed(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families
