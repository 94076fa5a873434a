"""Connection and request lifecycle: stale pooled connections, idle pool ageing, client aborts,
graceful shutdown, passive-health reports, metrics and the access log."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import orjson

from tests.gateway_runtime.conftest import wait_until
from tests.gateway_runtime.proxy_harness import (
    LocalGateway,
    proxy_document,
    spawn_gateway,
    write_proxy_config,
)
from tests.gateway_runtime.rawhttp import RawClient
from tests.gateway_runtime.upstreams import DeadPort, Upstream


def test_a_pooled_connection_closed_by_the_upstream_is_replaced_without_an_error() -> None:
    with (
        Upstream("a") as up,
        LocalGateway(proxy_document([up.port])) as gw,
        RawClient(gw.port) as c,
    ):
        statuses = []
        for i in range(20):
            statuses.append(c.request("GET", f"/svc/v1/echo/{i}").status)
            up.kill_connections()  # the upstream drops its keep-alive side right away
    assert statuses == [200] * 20
    assert up.connections >= 20


def test_an_upstream_restart_does_not_fail_requests_on_its_stale_pool() -> None:
    with Upstream("a") as up:
        doc = proxy_document([up.port], retry_on=())  # no retry policy: only the stale rule
        with LocalGateway(doc) as gw:
            clients = [RawClient(gw.port) for _ in range(5)]
            try:
                import concurrent.futures as cf

                with cf.ThreadPoolExecutor(5) as pool:  # 5 requests at once: 5 pooled conns
                    list(pool.map(lambda c: c.request("GET", "/svc/v1/sleep/0.2"), clients))
                up.kill_connections()  # the upstream restarts: every pooled connection is dead
                statuses = [c.request("GET", "/svc/v1/echo").status for c in clients]
            finally:
                for c in clients:
                    c.close()
    assert statuses == [200] * 5


def test_idle_pooled_connections_are_closed_after_the_pool_idle_timeout() -> None:
    with Upstream("a") as up, LocalGateway(proxy_document([up.port]), pool_idle_timeout=0.3) as gw:
        with RawClient(gw.port) as c:
            assert c.request("GET", "/svc/v1/echo").status == 200
        assert up.open_connections == 1
        wait_until(lambda: up.open_connections == 0, timeout=3, message="pool sweep")


def test_a_client_that_leaves_mid_response_frees_the_instance() -> None:
    with Upstream("a") as up, LocalGateway(proxy_document([up.port])) as gw:
        c = RawClient(gw.port)
        c.send(b"GET /svc/v1/stream/50/1000?delay=0.05 HTTP/1.1\r\nHost: a\r\n\r\n")
        c.sock.recv(100)
        c.close()
        svc = gw.runtime.upstream("svc")
        wait_until(lambda: gw.call(lambda: svc.in_flight) == 0, timeout=3, message="release")
        wait_until(
            lambda: up.open_connections == 0,
            timeout=3,
            message="the half-relayed upstream connection to close",
        )
        with RawClient(gw.port) as again:
            assert again.request("GET", "/svc/v1/echo").status == 200


def test_connect_errors_reach_passive_health_and_eject_the_instance() -> None:
    with (
        DeadPort() as dead_port,
        Upstream("a") as up,
        LocalGateway(proxy_document([dead_port.port, up.port])) as gw,
    ):
        dead = dead_port.port
        gw.call(lambda: setattr(gw.runtime.upstream("svc").budget, "min_per_second", 1000))
        statuses = [
            RawClient(gw.port).request("GET", f"/svc/v1/echo/{i}").status for i in range(30)
        ]
        svc = gw.runtime.upstream("svc")
        dead_inst = next(i for i in svc.instances if i.port == dead)
        ejected = gw.call(lambda: dead_inst.ejected_until)
    assert statuses == [200] * 30
    assert ejected > 0


def test_graceful_stop_lets_an_in_flight_request_finish(tmp_path: Path) -> None:
    with Upstream("a") as up:
        gw = spawn_gateway(tmp_path, write_proxy_config(tmp_path / "s.json", [up.port]))
        result: dict[str, Any] = {}

        def slow() -> None:
            with RawClient(gw.port, timeout=10) as c:
                r = c.request("GET", "/svc/v1/sleep/1")
                result["status"] = r.status
                result["connection"] = r.headers.get("connection")

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)
        code = gw.stop()
        t.join()
    assert result["status"] == 200
    assert result["connection"] == "close"
    assert code == 0


def test_metrics_usage_and_access_log_see_every_request(tmp_path: Path) -> None:
    from gateway_runtime.accesslog import AccessLog
    from gateway_runtime.metrics import Metrics

    log_path = tmp_path / "access.log"
    access = AccessLog.open(str(log_path))
    metrics = Metrics()
    with (
        Upstream("a") as up,
        LocalGateway(proxy_document([up.port]), metrics=metrics, accesslog=access) as gw,
        RawClient(gw.port) as c,
    ):
        ok = c.request("GET", "/svc/v1/echo", {"X-Request-Id": "trace-me"})
        missing = c.request("GET", "/nowhere")
        gw.call(access.flush)
        counts = gw.call(lambda: dict(metrics.requests))
    lines = [orjson.loads(line) for line in log_path.read_bytes().splitlines()]
    assert ok.status == 200 and missing.status == 404
    assert sum(n for (route_id, _app, status), n in counts.items() if status == 200) == 1
    assert sum(n for (route_id, _app, status), n in counts.items() if status == 404) == 1
    assert [(line["status"], line["request_id"]) for line in lines][0] == (200, "trace-me")
    assert lines[1]["status"] == 404 and lines[1]["path"] == "/nowhere"
    access.close()
