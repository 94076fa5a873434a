"""Forwarding through a real gateway process to real upstream servers: paths, headers, framing,
keep-alive on both sides, pipelining, streaming, 100-continue."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.gateway_runtime.proxy_harness import spawn_gateway, write_proxy_config
from tests.gateway_runtime.rawhttp import RawClient
from tests.gateway_runtime.upstreams import Upstream


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with Upstream("a") as up:
        yield up


@pytest.fixture(scope="module")
def gateway(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("gw-fwd")
    gw = spawn_gateway(tmp, write_proxy_config(tmp / "snapshot.json", [upstream.port]))
    yield gw
    gw.stop()


def client(gateway: Any) -> RawClient:
    return RawClient(gateway.port)


def test_it_rewrites_the_base_path_and_keeps_the_query(gateway: Any) -> None:
    with client(gateway) as c:
        r = c.request("GET", "/svc/v1/echo/x%20y?a=1&b=%2F")
    assert r.status == 200
    assert r.json()["target"] == "/echo/x%20y?a=1&b=%2F"


def test_it_adds_forwarding_headers_and_a_request_id(gateway: Any, upstream: Upstream) -> None:
    with client(gateway) as c:
        r = c.request("GET", "/svc/v1/echo", {"Host": "api.example.com:8443"})
    seen = r.json()["headers"]
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == "api.example.com:8443"
    assert seen["forwarded"] == 'for=127.0.0.1;host="api.example.com:8443";proto=http'
    assert seen["host"] == f"127.0.0.1:{upstream.port}"
    assert seen["x-request-id"] == r.headers["x-request-id"]
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01", seen["traceparent"])


def test_it_appends_to_forwarding_headers_from_an_earlier_proxy(gateway: Any) -> None:
    with client(gateway) as c:
        r = c.request(
            "GET",
            "/svc/v1/echo",
            {
                "X-Forwarded-For": "203.0.113.7",
                "Forwarded": "for=203.0.113.7;proto=https",
            },
        )
    seen = r.json()["headers"]
    assert seen["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    assert seen["forwarded"] == "for=203.0.113.7;proto=https, for=127.0.0.1;host=gw.test;proto=http"


def test_it_passes_a_valid_request_id_and_traceparent_on(gateway: Any) -> None:
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with client(gateway) as c:
        r = c.request("GET", "/svc/v1/echo", {"X-Request-Id": "abc-123", "traceparent": tp})
    assert r.headers["x-request-id"] == "abc-123"
    assert r.json()["headers"]["x-request-id"] == "abc-123"
    assert r.json()["headers"]["traceparent"] == tp


def test_it_replaces_an_invalid_request_id_and_traceparent(gateway: Any) -> None:
    with client(gateway) as c:
        r = c.request(
            "GET",
            "/svc/v1/echo",
            {
                "X-Request-Id": "bad id with spaces",
                "traceparent": "00-" + "0" * 32 + "-00f067aa0ba902b7-01",
            },
        )
    seen = r.json()["headers"]
    assert seen["x-request-id"] != "bad id with spaces" and " " not in seen["x-request-id"]
    assert not seen["traceparent"].startswith("00-" + "0" * 32)


def test_it_strips_hop_by_hop_headers_both_ways(gateway: Any) -> None:
    with client(gateway) as c:
        r = c.request(
            "GET",
            "/svc/v1/echo",
            {
                "Connection": "keep-alive, X-Secret-Hop",
                "X-Secret-Hop": "1",
                "Keep-Alive": "timeout=5",
                "TE": "trailers",
                "Proxy-Authorization": "Basic eA==",
                "X-Kept": "yes",
            },
        )
    seen = r.json()["headers"]
    for name in ("connection", "x-secret-hop", "keep-alive", "te", "proxy-authorization"):
        assert name not in seen, name
    assert seen["x-kept"] == "yes"
    # the upstream's own hop-by-hop/framing headers are not relayed verbatim
    assert "connection" not in r.headers


def test_headers_are_classified_in_any_letter_case(gateway: Any) -> None:
    with client(gateway) as c:
        r = c.request(
            "GET",
            "/svc/v1/echo",
            {
                "hOsT": "Api.Example.com",
                "CoNnEcTiOn": "keep-alive, x-SECRET-hop",
                "X-Secret-Hop": "1",
                "kEEP-aLIVE": "timeout=5",
                "tE": "trailers",
                "PROXY-AUTHORIZATION": "Basic eA==",
                "X-FORWARDED-FOR": "203.0.113.7",
                "x-rEqUeSt-Id": "mixed-1",
                "SET-COOKIE": "kept",  # as long as "connection": forwarded all the same
                "USER-AGENT": "kept too",
            },
        )
    seen = r.json()["headers"]
    for name in ("connection", "x-secret-hop", "keep-alive", "te", "proxy-authorization"):
        assert name not in seen, name
    assert seen["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    assert seen["x-forwarded-host"] == "Api.Example.com"
    assert seen["x-request-id"] == "mixed-1" == r.headers["x-request-id"]
    assert seen["set-cookie"] == "kept"
    assert seen["user-agent"] == "kept too"


def test_keep_alive_reuses_one_upstream_connection(gateway: Any, upstream: Upstream) -> None:
    with client(gateway) as c:
        c.request("GET", "/svc/v1/echo")  # warm the pool
        before = upstream.connections
        statuses = [c.request("GET", f"/svc/v1/echo/{i}").status for i in range(50)]
    assert statuses == [200] * 50
    assert upstream.connections == before  # every request rode a pooled connection


def test_pipelined_requests_are_answered_in_order(gateway: Any) -> None:
    with client(gateway) as c:
        c.send(
            b"GET /svc/v1/sleep/0.3 HTTP/1.1\r\nHost: a\r\n\r\n"
            b"GET /svc/v1/echo/second HTTP/1.1\r\nHost: a\r\n\r\n"
            b"GET /svc/v1/nope HTTP/1.1\r\nHost: a\r\n\r\n"
            b"POST /svc/v1/echo/fourth HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
        )
        first, second, third, fourth = (c.read_response() for _ in range(4))
    assert first.json() == {"slept": True}
    assert second.json()["target"] == "/echo/second"
    assert third.status == 404
    assert fourth.json()["body"] == "abc"


def test_a_chunked_upload_is_streamed_and_counted(gateway: Any) -> None:
    chunks = [b"x" * 70000, b"y" * 5, b"z" * 100000]
    body = b"".join(b"%x\r\n%s\r\n" % (len(ch), ch) for ch in chunks) + b"0\r\n\r\n"
    with client(gateway) as c:
        c.send(
            b"POST /svc/v1/sink HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" + body
        )
        r = c.read_response()
    assert r.json() == {"received": 170005}


def test_a_chunked_response_is_relayed_chunked(gateway: Any) -> None:
    with client(gateway) as c:
        r = c.request("GET", "/svc/v1/stream/5/1000")
        again = c.request("GET", "/svc/v1/echo")  # the connection is still usable
    assert r.headers["transfer-encoding"] == "chunked"
    assert r.body == b"".join(bytes([97 + i]) * 1000 for i in range(5))
    assert again.status == 200


def test_a_close_delimited_response_reaches_the_client_in_full(gateway: Any) -> None:
    with client(gateway) as c:
        r = c.request("GET", "/svc/v1/close")
        again = c.request("GET", "/svc/v1/echo")
    assert r.body == b"until-close-body"
    assert again.status == 200


def test_head_gets_headers_without_a_body(gateway: Any) -> None:
    with client(gateway) as c:
        r = c.request("HEAD", "/svc/v1/head-chunked")
        after = c.request("GET", "/svc/v1/echo/after")
        r2 = c.request("HEAD", "/svc/v1/echo")
        after2 = c.request("GET", "/svc/v1/echo/after2")
    assert r.status == 200 and r.body == b""
    assert after.json()["target"] == "/echo/after"
    assert int(r2.headers["content-length"]) > 0
    assert after2.json()["target"] == "/echo/after2"


def test_status_codes_pass_through_including_204(gateway: Any) -> None:
    with client(gateway) as c:
        assert c.request("GET", "/svc/v1/status/204").status == 204
        assert c.request("GET", "/svc/v1/status/418").status == 418
        assert c.request("GET", "/svc/v1/status/201").status == 201


def test_expect_100_continue_gets_a_continue_then_the_answer(gateway: Any) -> None:
    with client(gateway) as c:
        c.send(
            b"POST /svc/v1/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        interim = c.read_response()
        c.send(b"hello")
        final = c.read_response()
    assert interim.status == 100
    assert final.json()["body"] == "hello"
    assert "expect" not in final.json()["headers"]


def test_expect_100_continue_over_the_route_limit_is_refused_before_the_body(gateway: Any) -> None:
    with client(gateway) as c:
        c.send(
            b"POST /svc/v1/echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5000000\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        r = c.read_response()
        assert r.status == 413
        assert r.headers["content-type"] == "application/problem+json"
        assert c.is_closed()


def test_a_large_download_streams_through(gateway: Any) -> None:
    size = 50 * 1024 * 1024
    with client(gateway) as c:
        c.send(b"GET /svc/v1/big/%d HTTP/1.1\r\nHost: a\r\n\r\n" % size)
        started = time.monotonic()
        r = c.read_response()
    assert r.status == 200 and len(r.body) == size
    assert time.monotonic() - started < 30


def test_http10_client_gets_a_close_delimited_stream(gateway: Any) -> None:
    with client(gateway) as c:
        c.send(b"GET /svc/v1/stream/3/10 HTTP/1.0\r\nHost: a\r\n\r\n")
        r = c.read_response()
        assert r.body == b"a" * 10 + b"b" * 10 + b"c" * 10
        assert c.is_closed()


def test_upstream_path_prefix_is_applied(tmp_path: Path) -> None:
    from tests.gateway_runtime.proxy_harness import LocalGateway, proxy_document

    with Upstream("p") as up:
        doc = proxy_document([up.port])
        doc["apis"][0]["upstream_path"] = "/internal/api/"
        from tests.gateway_runtime.snapshots import stamp

        with LocalGateway(stamp(doc, 1)) as gw, RawClient(gw.port) as c:
            r = c.request("GET", "/svc/v1/echo/1?q=2")
            root = c.request("GET", "/svc/v1?q=3")
    assert r.json()["target"] == "/internal/api/echo/1?q=2"
    assert root.status in (404, 405)  # no route at the mount point itself


def test_an_api_key_in_the_query_is_not_forwarded_upstream() -> None:
    from tests.gateway_runtime.proxy_harness import LocalGateway
    from tests.gateway_runtime.snapshots import api, key_entry, raw_key, route, snapshot, upstream

    with Upstream("q") as up:
        doc = snapshot(
            [api(1, "/q/v1", [route(1, "GET", "/echo")], allow_key_in_query=True)],
            upstreams={"svc": upstream([up.port])},
            applications={"7": {"name": "app", "subscriptions": {"1": 1}}},
            keys={"ABCDEFGH": key_entry(raw_key("ABCDEFGH"), 7)},
        )
        with LocalGateway(doc) as gw, RawClient(gw.port) as c:
            r = c.request("GET", f"/q/v1/echo?a=1&api_key={raw_key('ABCDEFGH')}&b=2")
    assert r.status == 200
    assert r.json()["target"] == "/echo?a=1&b=2"
    assert raw_key("ABCDEFGH") not in up.targets[-1]


def test_an_http10_keep_alive_client_is_told_and_kept(gateway: Any) -> None:
    with client(gateway) as c:
        c.send(b"GET /svc/v1/echo/a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        first = c.read_response()
        c.send(b"GET /svc/v1/echo/b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        second = c.read_response()
    assert first.headers["connection"] == "keep-alive"
    assert second.json()["target"] == "/echo/b"


def test_an_interim_1xx_from_the_upstream_is_not_relayed(gateway: Any) -> None:
    with client(gateway) as c:
        r = c.request("GET", "/svc/v1/early-hints")
        again = c.request("GET", "/svc/v1/echo/after")
    assert r.status == 200 and r.json() == {"final": True}
    assert again.json()["target"] == "/echo/after"
