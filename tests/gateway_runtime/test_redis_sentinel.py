"""Through a real Redis Sentinel: the portal, the gateway and Celery find the master, and a running
gateway follows a failover (master SIGKILLed, replica promoted) without a restart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import kombu.exceptions
import orjson
import pytest
import redis
from celery import Celery

from gateway_runtime.redis_url import async_client, kombu_url, sync_client
from portal.local_redis import free_port, redis_answers
from portal.redis import get_redis
from tests.gateway_runtime import snapshots as snap
from tests.gateway_runtime.conftest import ROOT, Load, http_get, wait_until
from tests.gateway_runtime.sentinels import SERVICE, SentinelSet

pytestmark = [pytest.mark.slow, pytest.mark.e2e]
SIGNER = snap.Signer()


@pytest.fixture(scope="module")
def sentinels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelSet]:
    """Shared by the tests that leave the topology alone."""
    started = SentinelSet(tmp_path_factory.mktemp("sentinel")).start()
    yield started
    started.stop()


@pytest.fixture
def own_sentinels(tmp_path: Path) -> Iterator[SentinelSet]:
    """For a test that kills the master."""
    started = SentinelSet(tmp_path / "sentinel").start()
    yield started
    started.stop()


def test_the_portal_client_reaches_the_master_through_sentinel(sentinels, settings) -> None:
    settings.REDIS_URL = sentinels.url(db=2)
    client = get_redis()
    client.set("sentinel-test:portal", "written")
    with sentinels.direct(sentinels.master) as master:
        master.execute_command("SELECT", 2)
        assert master.get("sentinel-test:portal") == b"written"
    assert client.connection_pool.get_master_address() == ("127.0.0.1", sentinels.master.port)


def test_the_gateway_client_reaches_the_master_through_sentinel(sentinels) -> None:
    async def exchange() -> tuple[bytes | None, dict]:
        client = async_client(sentinels.url(), socket_connect_timeout=1.0, socket_timeout=3.0)
        try:
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe("sentinel-test:channel")
            await client.set("sentinel-test:gateway", "async")
            await client.publish("sentinel-test:channel", "hello")
            message = None
            for _ in range(20):
                message = message or await pubsub.get_message(timeout=0.1)
            await pubsub.aclose()
            return await client.get("sentinel-test:gateway"), message or {}
        finally:
            await client.aclose()

    value, message = asyncio.run(exchange())
    assert value == b"async"
    assert message["data"] == b"hello"
    with sentinels.direct(sentinels.master) as master:
        assert master.get("sentinel-test:gateway") == b"async"


def test_celery_reaches_the_broker_through_sentinel_from_redis_url(sentinels) -> None:
    # A separate process: the broker settings are derived when portal.settings is imported.
    code = (
        "import django; django.setup(); from portal.celery import app\n"
        "with app.connection_for_write() as conn:\n"
        "    queue = conn.SimpleQueue('sentinel-test')\n"
        "    queue.put({'hello': 'sentinel'})\n"
        "    message = queue.get(timeout=5); message.ack(); print(message.payload)\n"
        "    queue.close()\n"
    )
    env = {**_clean_env(), "REDIS_URL": sentinels.url(db=3)}
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{'hello': 'sentinel'}"
    with sentinels.direct(sentinels.master) as master:
        master.execute_command("SELECT", 3)
        assert master.exists("_kombu.binding.sentinel-test")


def test_a_celery_worker_follows_a_failover(own_sentinels, tmp_path) -> None:
    env = {
        **_clean_env(),
        "REDIS_URL": own_sentinels.url(),  # the broker is derived from it
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "MESHGATE_VAR_DIR": str(tmp_path / "var"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_URL", None)
    log_path = tmp_path / "worker.log"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "portal",
        "worker",
        "-l",
        "info",
        "--pool=solo",
    ]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-n", "sn@%h"]
    with log_path.open("wb") as log:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        wait_until(lambda: b" ready." in log_path.read_bytes(), timeout=30, message="the worker")
        assert _pong(own_sentinels.url(), timeout=2.0)
        own_sentinels.fail_master_and_wait_for_failover(signal.SIGKILL)
        wait_until(lambda: _pong(own_sentinels.url()), timeout=30, message="a pong after failover")
        assert worker.poll() is None
        assert log_path.read_bytes().count(b"Connected to sentinel://") >= 2  # a reconnect
    finally:
        worker.terminate()
        worker.wait(10)


def _pong(url: str, timeout: float = 1.0) -> bool:
    """A broadcast ping (kombu fanout over Sentinel) answered by a worker; a fresh client each
    time, as the test's own connections may still point at the dead master."""
    broker, options = kombu_url(url)
    control = Celery("sentinel-test", broker=broker, broker_transport_options=options)
    try:
        return bool(control.control.ping(timeout=timeout))
    except (redis.RedisError, OSError, kombu.exceptions.OperationalError):
        return False
    finally:
        control.close()


def test_a_running_gateway_follows_a_failover(own_sentinels, start_gateway, ok_upstream) -> None:
    publisher, gateway, bearer = _gateway_with_token(
        own_sentinels, start_gateway, ok_upstream, "after-failover", socket_timeout=2
    )
    with Load(gateway.port, "/svc/v1/ping") as load:
        load.wait_for(20)
        took = own_sentinels.fail_master_and_wait_for_failover(signal.SIGKILL)
        assert took < 15
        # The same publisher client: its pool now asks Sentinel and finds the promoted replica.
        _retry(lambda: snap.publish(publisher, _document(ok_upstream, 2)))
        wait_until(lambda: gateway.status()["revision"] == 2, timeout=10, message="revision 2")
        wait_until(lambda: gateway.status()["redis"]["connected"], message="Redis connected")
        load.wait_for(20)
    assert load.result.failures == [], load.result.statuses
    # Revocations arrive only by pub/sub (no poll reads them): proof that the subscription was
    # made again, on the new master.
    _wait_for_revocation(publisher, gateway, bearer, "after-failover")
    publisher.close()


def test_the_subscription_leaves_a_frozen_master(own_sentinels, start_gateway, ok_upstream) -> None:
    # SIGSTOP: the old master's sockets stay open and the idle subscription sees no error. The
    # gateway's other connections time out and find the new master; the listener follows them.
    publisher, gateway, bearer = _gateway_with_token(
        own_sentinels, start_gateway, ok_upstream, "frozen", socket_timeout=1
    )
    own_sentinels.fail_master_and_wait_for_failover(signal.SIGSTOP)
    _retry(lambda: snap.publish(publisher, _document(ok_upstream, 2)))
    wait_until(lambda: gateway.status()["revision"] == 2, timeout=15, message="revision 2")
    started = time.monotonic()
    _wait_for_revocation(publisher, gateway, bearer, "frozen")
    assert time.monotonic() - started < 10
    assert "Redis master moved" in gateway.log()
    publisher.close()


def _gateway_with_token(sentinels, start_gateway, upstream_port: int, jti: str, *, socket_timeout):  # noqa: ANN001, ANN202
    """A gateway on revision 1 published through Sentinel, and a bearer token it accepts."""
    publisher = sync_client(
        sentinels.url(), socket_connect_timeout=1, socket_timeout=socket_timeout
    )
    snap.publish(publisher, _document(upstream_port, 1))
    gateway = start_gateway(redis=sentinels.url())
    token = SIGNER.token(exp=time.time() + 600, jti=jti)
    bearer = {"Authorization": f"Bearer {token}"}
    assert http_get(gateway.url + "/svc/v1/token", headers=bearer)[0] == 200
    return publisher, gateway, bearer


def _wait_for_revocation(publisher, gateway, bearer: dict, jti: str) -> None:  # noqa: ANN001
    """Publish the token's revocation until the gateway refuses it (the subscriber may still be
    reconnecting when the first message goes out)."""

    def revoke_and_check() -> bool:
        message = {"jti": jti, "exp": time.time() + 600}
        publisher.publish("meshgate:oauth:revoked", orjson.dumps(message))
        return http_get(gateway.url + "/svc/v1/token", headers=bearer)[0] == 401

    wait_until(revoke_and_check, timeout=10, interval=0.5, message="the revocation message")


def _document(port: int, revision: int) -> dict:
    return snap.token_service(port, revision, SIGNER)


def _retry(action, attempts: int = 20) -> None:  # noqa: ANN001
    # The first write after a failover may still meet a connection to the dead master.
    for attempt in range(attempts):
        try:
            action()
            return
        except (redis.ConnectionError, redis.TimeoutError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)


def _clean_env() -> dict[str, str]:
    drop = ("REDIS_URL", "CELERY_BROKER_URL")
    return {k: v for k, v in os.environ.items() if k not in drop}


def test_make_run_accepts_a_sentinel_redis_url(sentinels) -> None:
    """`make run` (portal.devstack) checks REDIS_URL with the same client as the portal."""
    assert redis_answers(sentinels.url())
    dead = free_port()
    assert not redis_answers(f"redis+sentinel://127.0.0.1:{dead}/{SERVICE}", timeout=0.2)
    assert not redis_answers("http://user:secret@127.0.0.1/0")
