"""Probes against real sockets: every failure mode becomes a reason, none raises."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from portal.local_redis import free_port
from registry.health.probes import CheckSpec, ProbeResult, probe
from tests.registry.health.upstream import Upstream

HTTP = CheckSpec(kind="http", path="/health", timeout=1.0)


def run_probe(spec: CheckSpec, host: str, port: int, scheme: str = "http") -> ProbeResult:
    return asyncio.run(probe(spec, scheme, host, port))


def test_it_passes_a_healthy_http_endpoint(upstream: Upstream) -> None:
    result = run_probe(HTTP, "127.0.0.1", upstream.port)
    assert (result.ok, result.reason) == (True, "")
    assert 0 < result.ms < 1000
    assert upstream.hits == 1


def test_it_names_an_unexpected_status(upstream: Upstream) -> None:
    upstream.mode = "fail"
    result = run_probe(HTTP, "127.0.0.1", upstream.port)
    assert (result.ok, result.reason) == (False, "HTTP 503 (expected 200-399)")


def test_it_checks_the_expected_status_set(upstream: Upstream) -> None:
    upstream.mode = "fail"
    spec = CheckSpec(kind="http", statuses=((200, 200), (503, 503)), statuses_label="200,503")
    assert run_probe(spec, "127.0.0.1", upstream.port).ok


def test_it_requires_the_body_substring(upstream: Upstream) -> None:
    wanted = CheckSpec(kind="http", body_contains="ok")
    missing = CheckSpec(kind="http", body_contains="READY")
    assert run_probe(wanted, "127.0.0.1", upstream.port).ok
    result = run_probe(missing, "127.0.0.1", upstream.port)
    assert (result.ok, result.reason) == (False, "body does not contain 'READY'")


def test_it_reports_a_refused_connection() -> None:
    result = run_probe(HTTP, "127.0.0.1", free_port())
    assert (result.ok, result.reason) == (False, "connect refused")


def test_it_reports_a_name_that_does_not_resolve() -> None:
    result = run_probe(CheckSpec(kind="http", timeout=5), "no-such-host.invalid", 80)
    assert (result.ok, result.reason) == (False, "DNS: name does not resolve")
    tcp = run_probe(CheckSpec(kind="tcp", timeout=5), "no-such-host.invalid", 80)
    assert (tcp.ok, tcp.reason) == (False, "DNS: name does not resolve")


def test_it_times_out_an_endpoint_that_never_answers(upstream: Upstream) -> None:
    upstream.mode = "hang"
    started = time.monotonic()
    result = run_probe(CheckSpec(kind="http", timeout=0.3), "127.0.0.1", upstream.port)
    assert (result.ok, result.reason) == (False, "timeout after 0.3s")
    assert time.monotonic() - started < 2


def test_it_reports_a_connection_closed_without_an_answer(upstream: Upstream) -> None:
    upstream.mode = "close"
    result = run_probe(HTTP, "127.0.0.1", upstream.port)
    assert not result.ok
    assert result.reason == "server closed the connection without answering"


def test_it_refuses_an_untrusted_certificate_unless_told_not_to_verify(
    upstream_factory: Callable[..., Upstream],
) -> None:
    server = upstream_factory(tls=True)
    result = run_probe(HTTP, "127.0.0.1", server.port, scheme="https")
    assert not result.ok
    assert result.reason.startswith("TLS: ")
    assert "certificate verify failed" in result.reason
    lenient = CheckSpec(kind="http", tls_verify=False)
    assert run_probe(lenient, "127.0.0.1", server.port, scheme="https").ok


def test_a_tcp_check_only_needs_the_connect(upstream: Upstream) -> None:
    upstream.mode = "hang"
    assert run_probe(CheckSpec(kind="tcp", timeout=1), "127.0.0.1", upstream.port).ok
    refused = run_probe(CheckSpec(kind="tcp", timeout=1), "127.0.0.1", free_port())
    assert (refused.ok, refused.reason) == (False, "connect refused")


def test_it_reports_an_unreachable_address_within_the_timeout() -> None:
    # 192.0.2.0/24 is TEST-NET-1: never routed, so the connect hangs or fails.
    result = run_probe(CheckSpec(kind="tcp", timeout=0.3), "192.0.2.1", 80)
    assert not result.ok
    # How an unroutable address fails depends on the network (a sandbox may refuse it).
    assert result.reason == "timeout after 0.3s" or result.reason.startswith("connect")
