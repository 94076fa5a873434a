"""The probes: HTTP(S) (http_exchange.py) and TCP connect, on asyncio.

Every failure is caught here, at the one boundary, and becomes a short reason an
operator can read ("connect refused", "timeout after 2s", "TLS: certificate verify
failed"); a probe never raises, so one bad target cannot stop a tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import time
from dataclasses import dataclass

from registry.health.http_exchange import (
    BadResponse,
    NoAnswer,
    build_request,
    exchange,
    tls_context,
)


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """How a service's instances are checked (one object shared by all of them)."""

    kind: str  # "http" or "tcp"
    method: str = "GET"
    path: str = "/health"
    statuses: tuple[tuple[int, int], ...] = ((200, 399),)
    body_contains: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    tls_verify: bool = True
    timeout: float = 2.0
    statuses_label: str = "200-399"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    ms: float
    reason: str
    at: float  # epoch seconds when the probe finished


def _status_ok(spec: CheckSpec, status: int) -> bool:
    return any(low <= status <= high for low, high in spec.statuses)


def _seconds(value: float) -> str:
    return f"{value:g}s"


async def probe(spec: CheckSpec, scheme: str, host: str, port: int) -> ProbeResult:
    """Check one target; never raises (except cancellation)."""
    started = time.perf_counter()
    try:
        check = _tcp(host, port) if spec.kind == "tcp" else _http(spec, scheme, host, port)
        reason = await asyncio.wait_for(check, spec.timeout)
    except Exception as exc:  # noqa: BLE001 - the boundary: every failure becomes a reason
        reason = describe_error(exc, spec.timeout)
    ms = (time.perf_counter() - started) * 1000
    return ProbeResult(ok=not reason, ms=round(ms, 2), reason=reason, at=time.time())


async def _tcp(host: str, port: int) -> str:
    _reader, writer = await asyncio.open_connection(host, port)
    writer.close()
    # A peer that resets right after accepting still proved the connect works.
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ""


async def _http(spec: CheckSpec, scheme: str, host: str, port: int) -> str:
    request = build_request(spec.method, spec.path, host, port, spec.headers)
    tls = tls_context(spec.tls_verify) if scheme == "https" else None
    want_body = bool(spec.body_contains) and spec.method != "HEAD"
    status, body = await exchange(request, host, port, tls=tls, want_body=want_body)
    if not _status_ok(spec, status):
        return f"HTTP {status} (expected {spec.statuses_label})"
    if want_body and spec.body_contains.encode() not in body:
        return f"body does not contain {spec.body_contains!r}"
    return ""


def describe_error(exc: BaseException, timeout: float) -> str:
    """One short reason per failure mode (order matters: subclasses first)."""
    if isinstance(exc, TimeoutError):
        return f"timeout after {_seconds(timeout)}"
    if isinstance(exc, socket.gaierror):
        return "DNS: name does not resolve"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS: certificate verify failed: {_short(exc.verify_message)}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {_short(exc.reason or exc)}"
    if isinstance(exc, NoAnswer):
        return "server closed the connection without answering"
    if isinstance(exc, BadResponse):
        return f"bad response: {_short(exc)}"
    if isinstance(exc, OSError):
        return _connect_reason(exc)
    return f"probe error: {type(exc).__name__}: {_short(exc)}"


def _connect_reason(exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return "DNS: name does not resolve"
    if isinstance(exc, ConnectionRefusedError):
        return "connect refused"
    return f"connect: {exc.strerror or _short(exc)}"


def _short(exc: object) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."
