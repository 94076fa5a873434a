"""Client-side limits of the HTTP server over real sockets: header size (431), body size per route
(413), header/body/idle timeouts (slowloris), and pipelining bounds."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from gateway_runtime.http.server import HttpLimits
from tests.gateway_runtime.proxy_harness import LocalGateway, proxy_document
from tests.gateway_runtime.rawhttp import RawClient
from tests.gateway_runtime.upstreams import Upstream

FAST = HttpLimits(max_header_bytes=4096, header_timeout=0.5, idle_timeout=0.8, body_timeout=0.5)


@pytest.fixture(scope="module")
def gw() -> Iterator[LocalGateway]:
    with (
        Upstream("a") as up,
        LocalGateway(proxy_document([up.port], max_body_bytes=1000), limits=FAST) as gateway,
    ):
        yield gateway


def test_headers_over_the_limit_get_431_and_a_close(gw: LocalGateway) -> None:
    with RawClient(gw.port) as c:
        r = c.request("GET", "/svc/v1/echo", {"X-Big": "v" * 5000})
        assert r.status == 431
        assert r.json()["type"].endswith("/headers-too-large")
        assert c.is_closed()


def test_a_long_url_counts_toward_the_header_limit(gw: LocalGateway) -> None:
    with RawClient(gw.port) as c:
        r = c.request("GET", "/svc/v1/echo?" + "q" * 5000)
    assert r.status == 431


def test_headers_just_under_the_limit_pass(gw: LocalGateway) -> None:
    with RawClient(gw.port) as c:
        r = c.request("GET", "/svc/v1/echo", {"X-Big": "v" * 3000})
    assert r.status == 200


def test_declared_body_over_the_route_limit_is_413(gw: LocalGateway) -> None:
    with RawClient(gw.port) as c:
        r = c.request("POST", "/svc/v1/echo", body=b"x" * 1001)
        assert r.status == 413
        assert r.json()["type"].endswith("/payload-too-large")


def test_chunked_body_growing_over_the_route_limit_is_413(gw: LocalGateway) -> None:
    with RawClient(gw.port) as c:
        c.send(
            b"POST /svc/v1/sink HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3e8\r\n" + b"x" * 1000 + b"\r\n"
        )
        time.sleep(0.1)
        c.send(b"a\r\n" + b"y" * 10 + b"\r\n")
        r = c.read_response()
        assert r.status == 413
        assert c.is_closed()


def test_body_at_the_limit_passes(gw: LocalGateway) -> None:
    with RawClient(gw.port) as c:
        r = c.request("POST", "/svc/v1/echo", body=b"x" * 1000)
    assert r.status == 200 and r.json()["body_len"] == 1000


def test_slowloris_headers_are_cut_off_and_others_still_served(gw: LocalGateway) -> None:
    slow = []
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", gw.port))
        s.sendall(b"GET /svc/v1/echo HTTP/1.1\r\nHost: a\r\n")
        slow.append(s)
    started = time.monotonic()
    with RawClient(gw.port) as c:
        assert c.request("GET", "/svc/v1/echo").status == 200
    assert time.monotonic() - started < 0.5  # slow clients hold no worker
    for s in slow:
        s.sendall(b"X-Drip: 1\r\n")  # dripping bytes does not extend the deadline
    time.sleep(0.8)
    cut = 0
    for s in slow:
        s.settimeout(1)
        data = s.recv(4096)
        if data.startswith(b"HTTP/1.1 408") or data == b"":
            cut += 1
        s.close()
    assert cut == 50


def test_a_silent_connection_is_closed_after_the_header_timeout(gw: LocalGateway) -> None:
    with RawClient(gw.port) as c:
        assert not c.is_closed(timeout=0.2)
        assert c.is_closed(timeout=1.5)


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(gw: LocalGateway) -> None:
    with RawClient(gw.port) as c:
        assert c.request("GET", "/svc/v1/echo").status == 200
        assert not c.is_closed(timeout=0.5)  # header timeout (0.5) does not apply while idle
        assert c.is_closed(timeout=1.5)


def test_a_stalled_request_body_is_cut_off(gw: LocalGateway) -> None:
    with RawClient(gw.port) as c:
        c.send(b"POST /svc/v1/sink HTTP/1.1\r\nHost: a\r\nContent-Length: 500\r\n\r\nabc")
        started = time.monotonic()
        assert c.is_closed(timeout=2.0)
        assert time.monotonic() - started < 1.5


def test_many_pipelined_requests_are_all_answered_in_order(gw: LocalGateway) -> None:
    n = 100
    with RawClient(gw.port) as c:
        c.send(b"".join(b"GET /svc/v1/echo/%d HTTP/1.1\r\nHost: a\r\n\r\n" % i for i in range(n)))
        targets = [c.read_response().json()["target"] for _ in range(n)]
    assert targets == [f"/echo/{i}" for i in range(n)]


def test_a_refused_request_with_a_small_body_keeps_the_connection(gw: LocalGateway) -> None:
    with RawClient(gw.port) as c:
        c.send(
            b"POST /nowhere HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
            b"GET /svc/v1/echo/next HTTP/1.1\r\nHost: a\r\n\r\n"
        )
        first, second = c.read_response(), c.read_response()
    assert first.status == 404
    assert second.json()["target"] == "/echo/next"


def test_missing_host_on_http11_is_400(gw: LocalGateway) -> None:
    with RawClient(gw.port) as c:
        c.send(b"GET /svc/v1/echo HTTP/1.1\r\n\r\n")
        r = c.read_response()
    assert r.status == 400 and r.json()["type"].endswith("/bad-request")


def test_unknown_transfer_coding_is_501_and_odd_expect_is_417(gw: LocalGateway) -> None:
    with RawClient(gw.port) as c:
        c.send(
            b"POST /svc/v1/echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
            b"0\r\n\r\n"
        )
        assert c.read_response().status == 501
    with RawClient(gw.port) as c:
        c.send(b"GET /svc/v1/echo HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n")
        assert c.read_response().status == 417


def test_connect_is_refused_and_the_connection_closed(gw: LocalGateway) -> None:
    with RawClient(gw.port) as c:
        c.send(
            b"GET /svc/v1/echo/first HTTP/1.1\r\nHost: a\r\n\r\n"
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
        )
        first, refused = c.read_response(), c.read_response()
        assert first.json()["target"] == "/echo/first"
        assert refused.status == 400  # authority-form: not a target this gateway serves
        assert c.is_closed()
    with RawClient(gw.port) as c:  # origin-form CONNECT: routed (405), then the parser is done
        c.send(b"CONNECT /svc/v1/echo HTTP/1.1\r\nHost: a\r\n\r\n")
        assert c.read_response().status == 405
        c.send(b"GET /svc/v1/echo HTTP/1.1\r\nHost: a\r\n\r\n")
        assert c.is_closed()


def test_an_endless_header_line_is_cut_off_at_the_limit(gw: LocalGateway) -> None:
    with RawClient(gw.port) as c:
        c.send(b"GET /svc/v1/echo HTTP/1.1\r\nHost: a\r\nX-Big: ")
        sent = 0
        try:
            while sent < 4 * 1024 * 1024 and not c.is_closed(timeout=0.01):
                c.send(b"a" * 1024)  # never a CRLF: httptools would buffer it all
                sent += 1024
        except OSError:
            pass  # the gateway closed on us: that is the point
        assert sent < 64 * 1024  # refused within a read or two of the 4 KiB limit
        assert c.buf.startswith(b"HTTP/1.1 431 ")
