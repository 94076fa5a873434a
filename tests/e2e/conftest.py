"""Real processes for end-to-end tests: a Celery worker on the test Redis and the test database.

Tests that use `celery_worker` must be `django_db(transaction=True)`: the worker is
another process and sees only committed rows. With SQLite the test database is a
file for that reason (portal/settings.py sets its TEST NAME).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis as redis_lib
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    """A `celery worker` subprocess whose log the test can read and wait on."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def count(self, text: str) -> int:
        return sum(text in line for line in list(self.lines))

    def wait_for(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                code = self.process.returncode
                raise AssertionError(
                    f"the worker exited ({code}) while waiting for {what}:\n{self.log}"
                )
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {what}; worker log:\n{self.log}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def worker_database_url() -> str:
    """The URL of the database the tests use right now (pytest-django's test database)."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    if connection.vendor != "postgresql":
        raise RuntimeError(f"no worker database URL for {connection.vendor}")
    credentials = quote(settings["USER"] or "", safe="")
    if settings["PASSWORD"]:
        credentials += ":" + quote(settings["PASSWORD"], safe="")
    host = settings["HOST"] or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{settings['PORT'] or 5432}/{settings['NAME']}"


@pytest.fixture
def celery_worker(
    django_db_setup: None, redis_url: str, redis_client: redis_lib.Redis
) -> Iterator[WorkerProcess]:
    """A real `celery -A portal worker` (solo pool) against the test Redis and test database.

    Function-scoped and started after `redis_client` flushed Redis, so it declares
    its queue on a clean broker and never runs tasks left over by earlier tests.
    """
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "MESHGATE_PUBLISH_VALIDATE": "1",
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "PYTHONUNBUFFERED": "1",
    }
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
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"e2e-{uuid.uuid4().hex[:8]}@%h",
    ]
    worker = WorkerProcess(command, env)
    try:
        worker.wait_for(lambda: worker.count(" ready.") > 0, timeout=60, what="the worker to start")
        yield worker
    finally:
        worker.stop()
