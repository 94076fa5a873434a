"""Every refusal and upstream failure is an RFC 9457 problem+json with a stable type; retries go to
another instance under the policy; timeouts answer 504 in time. Real sockets, real upstreams."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.gateway_runtime.conftest import wait_until
from tests.gateway_runtime.proxy_harness import LocalGateway, proxy_document
from tests.gateway_runtime.rawhttp import RawClient, Response
from tests.gateway_runtime.snapshots import (
    api,
    key_entry,
    plan,
    raw_key,
    route,
    snapshot,
    stamp,
    upstream,
)
from tests.gateway_runtime.upstreams import Blackhole, DeadPort, Upstream

TYPE = "https://meshgate.dev/problems/"


def assert_problem(r: Response, status: int, slug: str) -> dict[str, Any]:
    assert r.status == status, (r.status, r.body)
    assert r.headers["content-type"] == "application/problem+json"
    doc = r.json()
    assert doc["type"] == TYPE + slug
    assert doc["status"] == status
    assert doc["title"]
    assert r.headers["x-request-id"] == doc["request_id"]
    return doc


@pytest.fixture
def up() -> Iterator[Upstream]:
    with Upstream("a") as server:
        yield server


def generous_budget(gw: LocalGateway, slug: str = "svc") -> None:
    """Retry tests check where retries go; the budget has its own test below."""
    gw.call(lambda: setattr(gw.runtime.upstream(slug).budget, "min_per_second", 1000))


def get(
    gw: LocalGateway,
    path: str,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    body: bytes = b"",
) -> Response:
    with RawClient(gw.port) as c:
        return c.request(method, path, headers, body)


def test_without_a_config_every_request_gets_503_no_config() -> None:
    with LocalGateway(None) as gw:
        assert_problem(get(gw, "/anything"), 503, "no-config")


def test_unknown_path_is_404_no_route(up: Upstream) -> None:
    with LocalGateway(proxy_document([up.port])) as gw:
        assert_problem(get(gw, "/nowhere/at/all"), 404, "no-route")


def test_wrong_method_is_405_with_allow(up: Upstream) -> None:
    with LocalGateway(proxy_document([up.port])) as gw:
        r = get(gw, "/svc/v1/sink", method="TRACE")
    assert_problem(r, 405, "method-not-allowed")
    assert "POST" in r.headers["allow"] and "GET" in r.headers["allow"]


def _versions_doc(port: int) -> dict[str, Any]:
    routes = [route(1, "GET", "/things", auth_mode="public")]
    return snapshot(
        [
            api(1, "/old/v1", [], state="retired", auth_mode="public"),
            api(
                2,
                "/dep/v1",
                routes,
                state="deprecated",
                sunset_at="2027-01-01T00:00:00Z",
                auth_mode="public",
            ),
        ],
        upstreams={"svc": upstream([port])},
    )


def test_retired_version_is_410_gone(up: Upstream) -> None:
    with LocalGateway(_versions_doc(up.port)) as gw:
        assert_problem(get(gw, "/old/v1/things"), 410, "gone")


def test_deprecated_version_answers_with_deprecation_and_sunset(up: Upstream) -> None:
    with LocalGateway(_versions_doc(up.port)) as gw:
        r = get(gw, "/dep/v1/things")
    assert r.status == 200
    assert "deprecation" in r.headers
    assert "2027" in r.headers["sunset"]


def _keyed_doc(port: int, rps: int | None = None) -> dict[str, Any]:
    routes = [route(1, "GET", "/echo", auth_mode="key"), route(2, "GET", "/other", auth_mode="key")]
    return snapshot(
        [api(1, "/k/v1", routes, plans=[1]), api(2, "/o/v1", [route(3, "GET", "/x")], plans=[1])],
        upstreams={"svc": upstream([port])},
        plans={"1": plan(rps=rps, burst=rps)},
        applications={"7": {"name": "app", "subscriptions": {"1": 1}}},
        keys={"ABCDEFGH": key_entry(raw_key("ABCDEFGH"), 7)},
    )


def test_missing_key_is_401_with_www_authenticate(up: Upstream) -> None:
    with LocalGateway(_keyed_doc(up.port)) as gw:
        r = get(gw, "/k/v1/echo")
    assert_problem(r, 401, "unauthenticated")
    assert r.headers["www-authenticate"].startswith("ApiKey")


def test_unsubscribed_key_is_403(up: Upstream) -> None:
    with LocalGateway(_keyed_doc(up.port)) as gw:
        ok = get(gw, "/k/v1/echo", {"X-API-Key": raw_key("ABCDEFGH")})
        r = get(gw, "/o/v1/x", {"X-API-Key": raw_key("ABCDEFGH")})
    assert ok.status == 200
    assert_problem(r, 403, "forbidden")


def test_over_the_rate_limit_is_429_with_ratelimit_headers(up: Upstream) -> None:
    from gateway_runtime.ratelimit import RateLimiter

    with (
        LocalGateway(_keyed_doc(up.port, rps=3), ratelimiter=RateLimiter()) as gw,
        RawClient(gw.port) as c,
    ):
        answers = [
            c.request("GET", "/k/v1/echo", {"X-API-Key": raw_key("ABCDEFGH")}) for _ in range(10)
        ]
    statuses = [a.status for a in answers]
    assert statuses[0] == 200 and 429 in statuses
    assert statuses.count(200) <= 4
    assert answers[0].headers["ratelimit-limit"] == "3"
    denied = answers[statuses.index(429)]
    assert_problem(denied, 429, "rate-limited")
    assert int(denied.headers["retry-after"]) >= 1
    assert denied.headers["ratelimit-remaining"] == "0"


def test_refused_connection_is_502_upstream_unavailable() -> None:
    with DeadPort() as dead, LocalGateway(proxy_document([dead.port])) as gw:
        doc = assert_problem(get(gw, "/svc/v1/echo"), 502, "upstream-unavailable")
    assert "connect" in doc["detail"]


def test_all_instances_draining_is_503_no_healthy_upstream(up: Upstream) -> None:
    doc = proxy_document([up.port])
    doc["upstreams"]["svc"]["instances"][0]["state"] = "draining"
    with LocalGateway(stamp(doc, 1)) as gw:
        assert_problem(get(gw, "/svc/v1/echo"), 503, "no-healthy-upstream")


def test_a_version_without_upstream_is_503(up: Upstream) -> None:
    doc = snapshot(
        [
            api(
                1,
                "/n/v1",
                [route(1, "GET", "/x", auth_mode="public")],
                upstream=None,
                auth_mode="public",
            )
        ],
        upstreams={"svc": upstream([up.port])},
    )
    with LocalGateway(doc) as gw:
        assert_problem(get(gw, "/n/v1/x"), 503, "no-healthy-upstream")


def test_concurrency_limit_answers_503_overloaded_at_once(up: Upstream) -> None:
    with LocalGateway(proxy_document([up.port]), max_in_flight=1) as gw:
        slow = threading.Thread(target=get, args=(gw, "/svc/v1/sleep/1"))
        slow.start()
        time.sleep(0.3)
        started = time.monotonic()
        r = get(gw, "/svc/v1/echo")
        elapsed = time.monotonic() - started
        slow.join()
    assert_problem(r, 503, "overloaded")
    assert elapsed < 0.5


def test_route_timeout_is_504_in_time(up: Upstream) -> None:
    with LocalGateway(proxy_document([up.port], timeout_ms=500)) as gw:
        started = time.monotonic()
        r = get(gw, "/svc/v1/sleep/3")
        elapsed = time.monotonic() - started
    doc = assert_problem(r, 504, "timeout")
    assert "0.5 s" in doc["detail"]
    assert 0.45 < elapsed < 1.2


def test_read_timeout_is_504(up: Upstream) -> None:
    with LocalGateway(proxy_document([up.port], timeouts={"read_ms": 300})) as gw:
        started = time.monotonic()
        r = get(gw, "/svc/v1/sleep/3")
        elapsed = time.monotonic() - started
    assert_problem(r, 504, "timeout")
    assert elapsed < 1.2


def test_a_stalled_stream_after_the_head_closes_the_client() -> None:
    with (
        Upstream("s") as server,
        LocalGateway(proxy_document([server.port], timeouts={"read_ms": 300})) as gw,
        RawClient(gw.port) as c,
    ):
        c.send(b"GET /svc/v1/stream/3/10?delay=2 HTTP/1.1\r\nHost: a\r\n\r\n")
        with pytest.raises(ConnectionError):
            c.read_response()


def test_blackholed_instance_times_out_on_connect_then_retries_elsewhere(up: Upstream) -> None:
    hole = Blackhole()
    try:
        doc = proxy_document([hole.port, up.port], timeouts={"connect_ms": 300}, retries=1)
        with LocalGateway(doc) as gw:
            generous_budget(gw)
            answers = [get(gw, f"/svc/v1/echo/{i}") for i in range(6)]
        alone = proxy_document([hole.port], timeouts={"connect_ms": 300})
        with LocalGateway(alone) as gw:
            started = time.monotonic()
            r = get(gw, "/svc/v1/echo")
            elapsed = time.monotonic() - started
    finally:
        hole.close()
    assert [a.status for a in answers] == [200] * 6
    assert_problem(r, 504, "timeout")
    assert 0.25 < elapsed < 1.5


def test_connect_failure_on_one_instance_is_retried_on_another_for_get(up: Upstream) -> None:
    with DeadPort() as dead, LocalGateway(proxy_document([dead.port, up.port], retries=1)) as gw:
        generous_budget(gw)
        answers = [get(gw, f"/svc/v1/echo/{i}") for i in range(10)]
    assert [a.status for a in answers] == [200] * 10


def test_a_post_with_a_body_is_not_retried(up: Upstream) -> None:
    with DeadPort() as dead, LocalGateway(proxy_document([dead.port, up.port], retries=1)) as gw:
        gw.call(lambda: setattr(gw.runtime.upstream("svc").budget, "min_per_second", 1000))
        statuses = [get(gw, "/svc/v1/echo", method="POST", body=b"data").status for _ in range(12)]
        gets = [get(gw, "/svc/v1/echo").status for _ in range(4)]
    assert set(statuses) == {200, 502}, statuses  # POSTs that hit the dead one fail
    assert gets == [200] * 4


def test_retryable_status_goes_to_another_instance() -> None:
    with Upstream("bad", fail_status=503) as bad, Upstream("good") as good:
        doc = proxy_document([bad.port, good.port], retry_on=("503",), retries=1)
        with LocalGateway(doc) as gw:
            generous_budget(gw)
            answers = [get(gw, f"/svc/v1/echo/{i}") for i in range(10)]
    assert [a.status for a in answers] == [200] * 10
    assert bad.requests > 0


def test_retries_stop_at_the_retry_budget() -> None:
    with Upstream("bad", fail_status=503) as bad, Upstream("good") as good:
        doc = proxy_document([bad.port, good.port], retry_on=("503",), retries=1)
        with LocalGateway(doc) as gw:
            gw.call(lambda: setattr(gw.runtime.upstream("svc").budget, "min_per_second", 0))
            statuses = [get(gw, f"/svc/v1/echo/{i}").status for i in range(40)]
    retried = bad.requests - statuses.count(503)
    assert statuses.count(503) > 0  # the budget ran out
    assert retried <= 0.2 * 40 + 1


def test_a_retryable_status_with_nowhere_else_to_go_is_relayed() -> None:
    with Upstream("bad", fail_status=503) as bad:
        doc = proxy_document([bad.port], retry_on=("503",), retries=2)
        with LocalGateway(doc) as gw:
            r = get(gw, "/svc/v1/echo")
    assert r.status == 503
    assert r.json() == {"status": 503}  # the upstream's own body, not a gateway problem


def test_an_endless_upstream_response_head_is_a_502_protocol_error(up: Upstream) -> None:
    with LocalGateway(proxy_document([up.port])) as gw:
        r = get(gw, "/svc/v1/endless-head")
    doc = assert_problem(r, 502, "upstream-protocol-error")
    assert "exceeds" in doc["detail"]


def test_a_fail_closed_plan_with_redis_down_is_503_rate_limit_unavailable(up: Upstream) -> None:
    from gateway_runtime.ratelimit import RateLimiter

    doc = _keyed_doc(up.port, rps=100)
    doc["plans"]["1"]["redis_down"] = "fail_closed"
    limiter = RateLimiter()
    with (
        DeadPort() as dead,
        LocalGateway(
            stamp(doc, 1), ratelimiter=limiter, limiter_redis=f"redis://127.0.0.1:{dead.port}/0"
        ) as gw,
    ):
        answers: list[Response] = []

        def refused() -> bool:  # a sync only reaches Redis once a key has demand
            answers.append(get(gw, "/k/v1/echo", {"X-API-Key": raw_key("ABCDEFGH")}))
            return answers[-1].status == 503

        wait_until(refused, timeout=5, interval=0.05, message="a fail-closed refusal")
    assert_problem(answers[-1], 503, "rate-limit-unavailable")
    assert not limiter.redis_ok
