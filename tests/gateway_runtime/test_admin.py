"""The admin listener: health, readiness, status and metrics on their own port."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from gateway_runtime.admin import AdminApp, merge_expositions
from tests.gateway_runtime import snapshots as snap
from tests.gateway_runtime.conftest import PrivateRedis, http_get, wait_until


def _config(tmp_path: Path, port: int) -> Path:
    document = snap.snapshot(
        [snap.api(1, "/svc/v1", [snap.route(1, "GET", "/ping", auth_mode="public")])],
        upstreams={"svc": snap.upstream([port], first_id=41)},
        revision=12,
    )
    path = tmp_path / "snapshot.json"
    path.write_bytes(snap.encode(document))
    return path


def _raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
        conn.sendall(data)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_status_shows_revision_upstreams_and_errors(start_gateway, tmp_path, ok_upstream):
    gateway = start_gateway(config=_config(tmp_path, ok_upstream))
    assert http_get(gateway.url + "/svc/v1/ping")[0] == 200
    code, headers, body = http_get(gateway.admin_url + "/status")
    assert code == 200 and headers["Content-Type"] == "application/json"
    status = json.loads(body)
    assert status["revision"] == 12 and status["routes"] == 1
    assert status["last_error"] is None and status["errors"] == 0
    assert status["workers"] == 1 and isinstance(status["pid"], int)
    instance = status["upstreams"]["svc"]["instances"][0]
    assert instance["id"] == 41 and instance["state"] == "healthy"
    assert instance["ejected"] is False, "ejected hosts are listed per instance"


def test_healthz_and_readyz_without_configuration(start_gateway, private_redis: PrivateRedis):
    gateway = start_gateway(redis=private_redis.url, wait="alive")
    assert http_get(gateway.admin_url + "/healthz")[:3:2] == (200, b"ok\n")
    code, _headers, body = http_get(gateway.admin_url + "/readyz")
    assert code == 503 and b"no configuration" in body


def test_metrics_are_prometheus_text(start_gateway, tmp_path, ok_upstream):
    gateway = start_gateway(config=_config(tmp_path, ok_upstream))
    code, headers, body = http_get(gateway.admin_url + "/metrics")
    assert code == 200
    assert headers["Content-Type"].startswith("text/plain")
    assert b"# TYPE meshgate_config_revision gauge" in body
    assert (
        b"\nmeshgate_config_revision 12.0\n" in body or b"\nmeshgate_config_revision 12\n" in body
    )


def test_bad_requests_to_the_admin_port_get_errors_and_it_keeps_answering(
    start_gateway, tmp_path, ok_upstream
):
    gateway = start_gateway(config=_config(tmp_path, ok_upstream))
    assert _raw(gateway.admin_port, b"garbage\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert _raw(gateway.admin_port, b"POST /status HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 405 ")
    assert _raw(gateway.admin_port, b"GET /nope HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 404 ")
    assert (
        _raw(gateway.admin_port, b"GET /healthz HTTP/1.1\r\n" + b"X: y\r\n" * 2000 + b"\r\n") == b""
    )
    head = _raw(gateway.admin_port, b"HEAD /status HTTP/1.1\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ") and head.endswith(b"\r\n\r\n")
    assert http_get(gateway.admin_url + "/healthz")[0] == 200


def test_admin_app_routes_without_sockets():
    async def metrics() -> tuple[bytes, str]:
        return b"m 1\n", "text/plain"

    app = AdminApp(ready=lambda: False, status=lambda: {"revision": None}, metrics=metrics)
    assert app.respond("GET", "/readyz")[0] == 503
    assert app.respond("GET", "/status?pretty=1")[2] == b'{\n  "revision": null\n}'
    assert app.respond("DELETE", "/healthz")[0] == 405


def test_metrics_of_all_workers_are_merged_with_a_worker_label(
    start_gateway, tmp_path, ok_upstream
):
    gateway = start_gateway(config=_config(tmp_path, ok_upstream), workers=2)

    def both_workers() -> bool:
        body = http_get(gateway.admin_url + "/metrics")[2]
        return b'meshgate_config_revision{worker="0"} 12.0' in body and (
            b'meshgate_config_revision{worker="1"} 12.0' in body
        )

    wait_until(both_workers, message="both workers in one scrape")
    body = http_get(gateway.admin_url + "/metrics")[2]
    assert body.count(b"# TYPE meshgate_config_revision gauge") == 1


def test_merge_keeps_families_whole_and_labels_each_sample():
    text = (
        b"# HELP reqs_total Requests.\n# TYPE reqs_total counter\n"
        b'reqs_total{route="1"} 5.0\n'
        b"# HELP lat Latency.\n# TYPE lat histogram\n"
        b'lat_bucket{le="0.1"} 1.0\nlat_bucket{le="+Inf"} 2.0\nlat_count 2.0\nlat_sum 0.3\n'
    )
    merged = merge_expositions([("0", text), ("1", text.replace(b"5.0", b"7.0"))]).decode()
    assert 'reqs_total{route="1",worker="0"} 5.0' in merged
    assert 'reqs_total{route="1",worker="1"} 7.0' in merged
    assert 'lat_bucket{le="+Inf",worker="1"} 2.0' in merged
    assert merged.count("# TYPE lat histogram") == 1
