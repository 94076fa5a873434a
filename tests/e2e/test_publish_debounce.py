"""Debounced publishing with a real Celery worker process, real Redis and the real test database."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
import redis as redis_lib
from django.conf import settings

from apis.models import Plan
from gateway_runtime.contract.validate import validate_snapshot
from portal.models import ConfigRevision
from portal.publishing import store
from portal.redis import redis_key
from tests.e2e.conftest import WorkerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _wait_until_idle(worker: WorkerProcess, redis_client: redis_lib.Redis) -> None:
    """No publish due, none queued, every task the worker received has finished."""

    def idle() -> bool:
        finished = worker.count("] succeeded in ") + worker.count("] raised unexpected")
        return (
            not redis_client.exists(redis_key("publish", "pending"))
            and redis_client.llen("celery") == 0
            and worker.count("] received") == finished
        )

    worker.wait_for(idle, timeout=30, what="the worker to finish every publish")


def test_100_changes_in_a_second_make_at_most_two_revisions_with_the_final_state(
    celery_worker: WorkerProcess, redis_client: redis_lib.Redis, admin_user: Any
) -> None:
    from tests.contract.rows import build_rows

    build_rows(admin_user, admin_user)
    _wait_until_idle(celery_worker, redis_client)
    before = ConfigRevision.objects.count()
    assert before >= 1, celery_worker.log  # the rows themselves were published
    plan = Plan.objects.get(slug="gold")

    started = time.monotonic()
    pending = redis_key("publish", "pending")
    for step in range(1, 101):
        if step == 51:
            # Let the first debounce window close mid-burst, so the burst spans two windows
            # (the case that makes a second revision) and still lasts well under a second.
            celery_worker.wait_for(
                lambda: not redis_client.exists(pending), 5, "the window to close"
            )
        plan.requests_per_second = step
        plan.save()  # its own transaction: each commit schedules (or joins) a publish
    elapsed = time.monotonic() - started
    _wait_until_idle(celery_worker, redis_client)

    # Claims last one window each and never overlap, so a burst of T seconds makes at most
    # T / window + 1 publishes: 2 for a burst under a second (the usual case here, ~0.6 s).
    # On a machine too loaded to make 100 commits in a second the bound grows with T.
    window = settings.MESHGATE_PUBLISH["DEBOUNCE_SECONDS"]
    allowed = max(2, int(elapsed / window) + 1)
    new = list(ConfigRevision.objects.order_by("revision"))[before:]
    assert 1 <= len(new) <= allowed, (elapsed, [(r.revision, r.reason) for r in new])
    current = orjson.loads(store.read_current() or b"null")
    assert current["revision"] == new[-1].revision
    assert current["plans"][str(plan.pk)]["rps"] == 100
    for revision in store.list_revisions():
        assert validate_snapshot(orjson.loads(store.read_revision(revision) or b"null")) == []
    assert "raised unexpected" not in celery_worker.log
