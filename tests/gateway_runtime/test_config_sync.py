"""A running gateway follows Redis: revisions, missed messages, refusals, outages, revocations."""

from __future__ import annotations

import threading
import time

import orjson

from tests.gateway_runtime import snapshots as snap
from tests.gateway_runtime.conftest import Load, PrivateRedis, http_get, wait_until

SIGNER = snap.Signer()


def _document(port: int, revision: int, *, extra_routes=(), revoked=()) -> dict:
    return snap.token_service(port, revision, SIGNER, extra_routes=extra_routes, revoked=revoked)


def test_a_published_revision_is_served_at_once(
    start_gateway, redis_client, redis_url, ok_upstream
):
    snap.publish(redis_client, _document(ok_upstream, 1))
    gateway = start_gateway(redis=redis_url)
    assert http_get(gateway.url + "/svc/v1/new")[0] == 404
    started = time.monotonic()
    snap.publish(
        redis_client,
        _document(ok_upstream, 2, extra_routes=[snap.route(3, "GET", "/new", auth_mode="public")]),
    )
    wait_until(
        lambda: http_get(gateway.url + "/svc/v1/new")[0] == 200, timeout=2, message="the new route"
    )
    assert time.monotonic() - started < 2, "the channel message, not the 3 s poll, brought it"
    assert gateway.status()["revision"] == 2


def test_polling_heals_a_missed_message(start_gateway, redis_client, redis_url, ok_upstream):
    snap.publish(redis_client, _document(ok_upstream, 1))
    gateway = start_gateway(redis=redis_url)
    body = snap.encode(_document(ok_upstream, 2))
    redis_client.set("meshgate:config:rev:2", body)
    redis_client.set("meshgate:config:current", 2)  # no PUBLISH: the message was "lost"
    wait_until(lambda: gateway.status()["revision"] == 2, timeout=8, message="the poll")


def test_an_invalid_revision_is_refused_reported_and_the_old_one_served(
    start_gateway, redis_client, redis_url, ok_upstream
):
    snap.publish(redis_client, _document(ok_upstream, 1))
    gateway = start_gateway(redis=redis_url)
    broken = _document(ok_upstream, 2)
    broken["apis"][0]["upstream"] = "nowhere"
    snap.publish(redis_client, snap.stamp(broken, 2))
    wait_until(lambda: gateway.status()["last_error"] is not None, message="the refusal")
    status = gateway.status()
    assert status["revision"] == 1
    assert status["last_error"].startswith("revision 2 refused: ")
    assert "unknown upstream 'nowhere'" in status["last_error"]
    assert http_get(gateway.url + "/svc/v1/ping")[0] == 200

    def reported() -> bool:
        reports = [orjson.loads(v) for v in redis_client.hgetall("meshgate:gateways").values()]
        return bool(reports) and reports[0]["last_error"] == status["last_error"]

    wait_until(reported, message="the refusal in the status report")
    time.sleep(3.5)  # one poll later: the same refused revision is not compiled again
    assert gateway.status()["errors"] == 1
    assert "refused" in gateway.log()


def test_hot_swaps_under_load_fail_no_request(start_gateway, redis_client, redis_url, ok_upstream):
    snap.publish(redis_client, _document(ok_upstream, 1))
    gateway = start_gateway(redis=redis_url, workers=2)
    with Load(gateway.port, "/svc/v1/ping", threads=3) as load:
        load.wait_for(50)
        for revision in range(2, 12):
            extra = [snap.route(100 + revision, "GET", f"/r{revision}", auth_mode="public")]
            snap.publish(redis_client, _document(ok_upstream, revision, extra_routes=extra))
            load.wait_for(20)
        wait_until(lambda: gateway.status()["revision"] == 11, message="the last revision")
        load.wait_for(50)
    assert load.result.failures == [], load.result.statuses
    assert load.result.ok > 300


def test_it_keeps_serving_when_redis_dies_and_catches_up_when_it_returns(
    start_gateway, private_redis: PrivateRedis, ok_upstream
):
    private_redis.start()
    snap.publish(private_redis.client(), _document(ok_upstream, 1))
    gateway = start_gateway(redis=private_redis.url)
    with Load(gateway.port, "/svc/v1/ping") as load:
        load.wait_for(20)
        private_redis.stop()
        wait_until(
            lambda: gateway.status()["redis"]["connected"] is False,
            timeout=8,
            message="the gateway to notice",
        )
        load.wait_for(50)
        assert gateway.admin("/readyz")[0] == 200
        private_redis.start()  # empty: a fresh server
        snap.publish(private_redis.client(), _document(ok_upstream, 2))
        wait_until(lambda: gateway.status()["revision"] == 2, timeout=10, message="catch-up")
        wait_until(lambda: gateway.status()["redis"]["connected"] is True, message="connected")
        load.wait_for(20)
    assert load.result.failures == [], load.result.statuses


def test_a_revoked_token_is_refused_within_one_second(
    start_gateway, redis_client, redis_url, ok_upstream
):
    snap.publish(redis_client, _document(ok_upstream, 1))
    gateway = start_gateway(redis=redis_url, workers=2)
    token = SIGNER.token(exp=time.time() + 600, jti="to-revoke")
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(4):  # both workers have verified (and cached) it
        assert http_get(gateway.url + "/svc/v1/token", headers=headers)[0] == 200
    revoked_at = time.monotonic()
    redis_client.publish(
        "meshgate:oauth:revoked", orjson.dumps({"jti": "to-revoke", "exp": time.time() + 600})
    )
    refused: list[float] = []

    def both_workers_refuse() -> bool:
        codes = [http_get(gateway.url + "/svc/v1/token", headers=headers)[0] for _ in range(4)]
        if all(code == 401 for code in codes):
            refused.append(time.monotonic())
            return True
        return False

    wait_until(both_workers_refuse, timeout=3, interval=0.01, message="the revocation")
    assert refused[0] - revoked_at < 1.0
    code, headers_back, body = http_get(gateway.url + "/svc/v1/token", headers=headers)
    assert b"revoked" in body
    assert 'error="invalid_token"' in headers_back.get("www-authenticate", "")


def test_health_updates_overlay_the_snapshot_state(
    start_gateway, redis_client, redis_url, ok_upstream
):
    snap.publish(redis_client, _document(ok_upstream, 1))
    gateway = start_gateway(redis=redis_url)
    update = {
        "instance": 1,
        "upstream": "svc",
        "state": "unhealthy",
        "reason": "test",
        "since": time.time(),
        "seq": 5,
    }
    redis_client.hset("meshgate:health:states", "1", orjson.dumps(update))
    redis_client.publish("meshgate:health:updates", orjson.dumps(update))

    def state() -> str:
        return gateway.status()["upstreams"]["svc"]["instances"][0]["state"]

    wait_until(lambda: state() == "unhealthy", timeout=2, message="the health update")
    stale = dict(update, state="healthy", seq=4)  # older seq: ignored
    redis_client.publish("meshgate:health:updates", orjson.dumps(stale))
    time.sleep(0.3)
    assert state() == "unhealthy"


def test_a_request_in_flight_finishes_on_the_table_it_started_with(
    start_gateway, redis_client, redis_url, ok_upstream
):
    slow = snap.route(9, "GET", "/slow", auth_mode="public")
    snap.publish(redis_client, _document(ok_upstream, 1, extra_routes=[slow]))
    gateway = start_gateway(redis=redis_url)
    answers: list[tuple[int, bytes]] = []
    request = threading.Thread(
        target=lambda: answers.append(http_get(gateway.url + "/svc/v1/slow", timeout=5)[0::2])
    )
    request.start()
    time.sleep(0.3)  # now waiting on the upstream's 1 s sleep
    snap.publish(redis_client, _document(ok_upstream, 2))  # /slow removed
    wait_until(lambda: gateway.status()["revision"] == 2, message="the swap")
    request.join(5)
    assert answers == [(200, b"ok /slow")]
    assert http_get(gateway.url + "/svc/v1/slow")[0] == 404
