"""Where a starting gateway gets its config: Redis, else the last-known-good file, else none."""

from __future__ import annotations

import time
from pathlib import Path

import orjson

from tests.gateway_runtime import snapshots as snap
from tests.gateway_runtime.conftest import PrivateRedis, http_get, wait_until

PUBLIC = [snap.route(1, "GET", "/ping", auth_mode="public")]


def _document(revision: int = 1, port: int = 9) -> dict:
    upstreams = {"svc": snap.upstream([port])}
    return snap.snapshot([snap.api(1, "/svc/v1", PUBLIC)], upstreams=upstreams, revision=revision)


def test_it_serves_the_current_revision_from_redis(start_gateway, redis_client, redis_url):
    snap.publish(redis_client, _document(revision=7))
    gateway = start_gateway(redis=redis_url)
    status = gateway.status()
    assert status["revision"] == 7
    assert status["source"] == "redis"
    assert status["last_error"] is None
    assert status["redis"]["connected"] is True


def test_it_reports_its_revision_to_redis_for_the_portal(start_gateway, redis_client, redis_url):
    snap.publish(redis_client, _document(revision=3))
    gateway = start_gateway(redis=redis_url, workers=2, gateway_id="edge-1")
    wait_until(lambda: len(redis_client.hgetall("meshgate:gateways")) == 2, message="2 reports")
    reports = [orjson.loads(v) for v in redis_client.hgetall("meshgate:gateways").values()]
    assert sorted(r["worker"] for r in reports) == [0, 1]
    for report in reports:
        assert report["gateway"] == "edge-1"
        assert report["workers"] == 2
        assert report["revision"] == 3
        assert report["checksum"] == _document(3)["checksum"]
        assert report["listen"] == f"127.0.0.1:{gateway.port}"
        assert report["admin"] == f"127.0.0.1:{gateway.admin_port}"
        assert report["errors"] == 0 and report["last_error"] is None
        assert report["heartbeat_at"] >= report["started_at"]
    assert gateway.stop() == 0
    assert redis_client.hgetall("meshgate:gateways") == {}, "a graceful stop withdraws the reports"


def test_it_restarts_from_the_last_known_good_file_when_redis_is_down(
    start_gateway, private_redis: PrivateRedis, tmp_path: Path, ok_upstream: int
):
    private_redis.start()
    snap.publish(private_redis.client(), _document(revision=5, port=ok_upstream))
    first = start_gateway(redis=private_redis.url)
    lkg = tmp_path / "state" / "last-known-good.json"
    wait_until(lkg.exists, message="the last-known-good file")
    assert first.stop() == 0
    private_redis.stop()

    second = start_gateway(redis=private_redis.url)
    status = second.status()
    assert status["revision"] == 5
    assert status["source"].startswith("disk")
    assert status["redis"]["connected"] is False
    assert http_get(second.url + "/svc/v1/ping")[0::2] == (200, b"ok /ping")


def test_without_redis_or_file_it_answers_503_and_keeps_trying(
    start_gateway, private_redis: PrivateRedis
):
    gateway = start_gateway(redis=private_redis.url, wait="alive")
    assert gateway.admin("/readyz")[0] == 503
    code, headers, body = http_get(gateway.url + "/svc/v1/ping")
    assert code == 503
    assert headers["content-type"] == "application/problem+json"
    assert b'"type":"https://meshgate.dev/problems/no-config"' in body
    assert gateway.status()["revision"] is None

    private_redis.start()
    snap.publish(private_redis.client(), _document(revision=2))
    gateway.wait("ready", timeout=15)
    assert gateway.status()["revision"] == 2


def test_config_file_mode_serves_the_exported_snapshot(start_gateway, tmp_path: Path):
    path = tmp_path / "snapshot.json"
    path.write_bytes(snap.encode(_document(revision=11)))
    gateway = start_gateway(config=path)
    status = gateway.status()
    assert status["revision"] == 11
    assert status["redis"] is None
    assert status["source"] == f"file {path}"


def test_an_invalid_current_revision_at_start_falls_back_to_disk(
    start_gateway, private_redis: PrivateRedis, tmp_path: Path
):
    private_redis.start()
    client = private_redis.client()
    snap.publish(client, _document(revision=1))
    start_gateway(redis=private_redis.url).stop()  # leaves revision 1 on disk
    broken = _document(revision=2)
    broken["plans"] = {}  # the API's plan 1 no longer exists
    snap.publish(client, snap.stamp(broken, 2))

    gateway = start_gateway(redis=private_redis.url)
    status = gateway.status()
    assert status["revision"] == 1 and status["source"].startswith("disk")
    assert status["last_error"] == "revision 2 refused: $.apis[0].plans: unknown plan 1"
    time.sleep(3.5)  # a poll later, revision 2 is not compiled a second time
    assert gateway.status()["errors"] == 1
