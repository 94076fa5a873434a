"""The heartbeat TTL end to end: `celery beat` (DatabaseScheduler), a worker, real Redis and DB."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from registry.choices import Health
from registry.models import Instance
from registry.services.self_registration import TTL_EXPIRED, register_self
from registry.services.services import create_service

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

schedule_migration = importlib.import_module(
    "registry.migrations.0002_expire_stale_instances_schedule"
)


def _database_url() -> str:
    """The test database as a URL, so the Celery processes use the same rows as this test."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [sys.executable, "-m", "celery", "-A", "portal", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def beat_and_worker(transactional_db, redis_url: str, tmp_path: Path) -> Iterator[Path]:  # type: ignore[no-untyped-def]  # noqa: E501
    """Beat and one worker on their own queue: no other worker on this Redis takes the runs."""
    queue = f"registry-e2e-{uuid.uuid4().hex[:8]}"
    # The migration's rows: an earlier transactional test may have flushed them.
    schedule_migration.schedule(apps, None)
    PeriodicTask.objects.filter(name=schedule_migration.TASK_NAME).update(queue=queue)
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
    }
    worker = _start(
        [
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "-l",
            "info",
        ],
        env,
        tmp_path / "worker.log",
    )
    beat = _start(
        [
            "beat",
            "-S",
            "django_celery_beat.schedulers:DatabaseScheduler",
            "--max-interval",
            "1",
            "--pidfile",
            str(tmp_path / "beat.pid"),
            "-l",
            "info",
        ],
        env,
        tmp_path / "beat.log",
    )
    yield tmp_path
    for process in (beat, worker):
        _stop(process)


def _wait_for(condition: Callable[[], bool], logs: Path, seconds: float = 40) -> None:
    # Real processes on a real clock: poll against a deadline.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    tails = {name: (logs / name).read_text()[-3000:] for name in ("beat.log", "worker.log")}
    raise AssertionError(f"condition not met within {seconds}s; logs: {tails}")


def test_beat_and_a_worker_expire_then_remove_a_silent_instance(
    beat_and_worker: Path, oscar
) -> None:
    service = create_service(
        actor=oscar, name="Edge", slug="edge", heartbeat_ttl_seconds=1, deregister_after_seconds=12
    )
    instance, _created = register_self(service, host="10.9.0.1", port=80, now=timezone.now())
    assert instance.health == Health.HEALTHY

    def expired() -> bool:
        row = Instance.objects.filter(pk=instance.pk).first()
        return row is not None and (row.health, row.state_reason) == (Health.UNHEALTHY, TTL_EXPIRED)

    _wait_for(expired, beat_and_worker)
    _wait_for(lambda: not Instance.objects.filter(pk=instance.pk).exists(), beat_and_worker)
    assert "registry.tasks.expire_stale_instances" in (beat_and_worker / "worker.log").read_text()
