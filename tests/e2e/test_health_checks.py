"""Health checking end to end: real `celery beat` + threads-pool workers, real Redis, real DB,
a real upstream process that the test kills, and a Redis subscriber standing in for a gateway."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
import redis as redis_lib
from django.conf import settings
from django.utils import timezone

from portal.local_redis import free_port
from portal.redis import redis_key
from registry.health.beat import ensure_schedule
from registry.health.lease import lease_key
from registry.models import Instance
from registry.services.instances import register_instance
from registry.services.services import create_service
from tests.e2e.conftest import worker_database_url

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


class Stack:
    """Beat plus N health workers (solo pool: a tick takes milliseconds) on their own queue."""

    def __init__(self, redis_url: str, logs: Path, *, lease_seconds: float) -> None:
        self.queue = f"health-e2e-{uuid.uuid4().hex[:8]}"
        self.logs = logs
        self.env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "MESHGATE_HEALTH_LEASE": str(lease_seconds),
            "PYTHONUNBUFFERED": "1",
        }
        self.workers: list[subprocess.Popen[bytes]] = []
        self.beat: subprocess.Popen[bytes] | None = None

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("wb") as out:
            return subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
                [sys.executable, "-m", "celery", "-A", "portal", *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=settings.BASE_DIR,
            )

    def start_worker(self) -> subprocess.Popen[bytes]:
        n = len(self.workers)
        worker = self._start(
            f"worker{n}",
            "worker",
            "--pool=solo",
            "-Q",
            self.queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "info",
            "-n",
            f"health{n}-{uuid.uuid4().hex[:6]}@%h",
        )
        self.workers.append(worker)
        return worker

    def start_beat(self) -> None:
        self.beat = self._start(
            "beat",
            "beat",
            "-S",
            "django_celery_beat.schedulers:DatabaseScheduler",
            "--max-interval",
            "1",
            "--pidfile",
            str(self.logs / "beat.pid"),
            "-l",
            "info",
        )

    def stop(self) -> None:
        for process in [self.beat, *self.workers]:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def tails(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text()[-2500:]}" for log in self.logs.glob("*.log")
        )


@pytest.fixture
def stack(transactional_db, redis_url: str, redis_client, tmp_path: Path) -> Iterator[Stack]:  # type: ignore[no-untyped-def]
    stack = Stack(redis_url, tmp_path, lease_seconds=2.0)
    ensure_schedule(shards=1, queue=stack.queue)
    yield stack
    stack.stop()


class Upstream:
    """`portal.demo_upstream` as a separate process, so the test can really kill it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "portal.demo_upstream", "--port", str(self.port)],
            cwd=settings.BASE_DIR,
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.kill()


class Subscriber:
    """A gateway stand-in: every message on <p>:health:updates with the time it arrived."""

    def __init__(self, client: redis_lib.Redis) -> None:
        self.messages: list[tuple[float, dict]] = []
        self._pubsub = client.pubsub()
        self._pubsub.subscribe(redis_key("health", "updates"))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        while not self._stop.is_set():
            message = self._pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05)
            if message is not None:
                self.messages.append((time.time(), orjson.loads(message["data"])))

    def first(self, instance_id: int, state: str) -> tuple[float, dict] | None:
        for arrived, body in list(self.messages):
            if body["instance"] == instance_id and body["state"] == state:
                return arrived, body
        return None

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._pubsub.close()


def wait_for(condition: Callable[[], object], seconds: float, stack: Stack, what: str) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}\n{stack.tails()}")


def test_a_killed_upstream_goes_unhealthy_then_healthy_and_gateways_hear_within_a_second(
    stack: Stack, upstream: Upstream, redis_client: redis_lib.Redis, oscar
) -> None:
    service = create_service(
        actor=oscar,
        name="Inventory",
        slug="inventory",
        check_interval_seconds=1,
        check_timeout_seconds=0.5,
    )
    instance = register_instance(service, actor=oscar, host="127.0.0.1", port=upstream.port)
    subscriber = Subscriber(redis_client)
    try:
        stack.start_worker()
        stack.start_beat()
        wait_for(lambda: subscriber.first(instance.pk, "healthy"), 60, stack, "healthy")

        killed_at = time.time()
        upstream.kill()
        arrived, body = wait_for(  # type: ignore[misc]
            lambda: subscriber.first(instance.pk, "unhealthy"), 20, stack, "unhealthy"
        )
        assert body["reason"] == "3 consecutive failures: connect refused"
        assert body["upstream"] == "inventory"
        assert arrived - body["since"] < 1.0, "the update reached the subscriber late"
        # Three failed checks at a 1 s interval: not before the third, not much after.
        assert 2.0 <= body["since"] - killed_at <= 3 * 1 + 2.0
        row = Instance.objects.get(pk=instance.pk)
        assert (row.health, row.check_streak <= -3) == ("unhealthy", True)

        upstream.start()
        down_seq = body["seq"]
        healthy_again = wait_for(
            lambda: [
                message
                for message in list(subscriber.messages)
                if message[1]["instance"] == instance.pk
                and message[1]["state"] == "healthy"
                and message[1]["seq"] > down_seq
            ],
            20,
            stack,
            "healthy again",
        )
        arrived, body = healthy_again[-1]  # type: ignore[index]
        assert arrived - body["since"] < 1.0
        assert body["reason"] == "2 consecutive successful checks"
        state = orjson.loads(redis_client.hget(redis_key("health", "states"), str(instance.pk)))
        assert state == body
    finally:
        subscriber.close()


def test_a_killed_worker_hands_its_shard_over_within_two_intervals(
    stack: Stack, upstream: Upstream, redis_client: redis_lib.Redis, oscar
) -> None:
    interval = 2.0
    service = create_service(
        actor=oscar,
        name="Ledger",
        slug="ledger",
        check_interval_seconds=interval,
        check_timeout_seconds=0.5,
    )
    instance = register_instance(service, actor=oscar, host="127.0.0.1", port=upstream.port)
    first, second = stack.start_worker(), stack.start_worker()
    stack.start_beat()

    def holder() -> str | None:
        value = redis_client.get(lease_key(0))
        return value.decode() if value else None

    wait_for(lambda: Instance.objects.get(pk=instance.pk).last_check_at, 60, stack, "a check")
    owner = str(wait_for(holder, 10, stack, "a lease holder"))
    doomed = next(p for p in (first, second) if owner.endswith(f":{p.pid}"))
    survivor = second if doomed is first else first
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    killed_at = timezone.now()

    wait_for(
        lambda: (holder() or "").endswith(f":{survivor.pid}"),
        2 * interval,
        stack,
        "the survivor to take the lease",
    )
    checked = wait_for(
        lambda: Instance.objects.filter(pk=instance.pk, last_check_at__gt=killed_at).first(),
        2 * interval + 1,
        stack,
        "a check by the survivor",
    )
    delay = (checked.last_check_at - killed_at).total_seconds()  # type: ignore[attr-defined]
    assert delay <= 2 * interval + 1.0
    assert checked.last_check_ok  # type: ignore[attr-defined]
