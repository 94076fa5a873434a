from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import redis as redis_lib
from django.db import transaction
from django.utils import timezone

from apis.models import ApiKey, ApiVersion
from portal.local_redis import free_port
from portal.publishing.tasks import publish_config
from portal.redis import redis_key
from registry.models import Instance
from tests.contract.rows import Rows, build_rows

pytestmark = pytest.mark.django_db(transaction=True)  # real commits run the on_commit hooks
TASK = "portal.publishing.tasks.publish_config"


@pytest.fixture
def rows(bob: Any, carol: Any, redis_client: redis_lib.Redis) -> Rows:
    made = build_rows(bob, carol)
    redis_client.delete(
        "celery", redis_key("publish", "pending")
    )  # what building the rows scheduled
    return made


def _queued(redis_client: redis_lib.Redis) -> list[dict[str, Any]]:
    """Tasks waiting in the Celery broker's default queue (no worker runs in these tests)."""
    return [json.loads(raw)["headers"] for raw in redis_client.lrange("celery", 0, -1)]


def _scheduled_in_this_transaction() -> int:
    return sum(
        1
        for entry in transaction.get_connection().run_on_commit
        if getattr(entry[1], "meshgate_publish", 0)
    )


def test_a_change_enqueues_one_delayed_publish_after_commit(
    rows: Rows, redis_client: redis_lib.Redis
) -> None:
    with transaction.atomic():
        rows.v1.upstream_path = "/api"
        rows.v1.save()
        rows.gold.name = "Golden"
        rows.gold.save()
        assert _scheduled_in_this_transaction() == 1  # however many rows change
        assert _queued(redis_client) == []  # nothing before the commit
    queued = _queued(redis_client)
    assert [headers["task"] for headers in queued] == [TASK]
    assert queued[0]["eta"] is not None
    assert redis_client.pttl(redis_key("publish", "pending")) > 0


def test_changes_inside_the_debounce_window_join_the_publish_already_due(
    rows: Rows, redis_client: redis_lib.Redis
) -> None:
    for path in ("/a", "/b", "/c"):
        rows.v1.upstream_path = path
        rows.v1.save()
    assert len(_queued(redis_client)) == 1
    redis_client.delete(redis_key("publish", "pending"))  # the window has passed
    rows.v1.save()
    assert len(_queued(redis_client)) == 2


def test_a_rolled_back_change_schedules_nothing(rows: Rows, redis_client: redis_lib.Redis) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        rows.v1.save()
        raise RuntimeError("abort")
    assert _queued(redis_client) == [] and not redis_client.exists(redis_key("publish", "pending"))
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            rows.v1.save()
            raise RuntimeError("abort the savepoint")
        rows.gold.save()  # the abandoned callback must not hide this one
    assert len(_queued(redis_client)) == 1


@pytest.mark.parametrize(
    ("change", "publishes"),
    [
        (
            lambda i: i.save(
                update_fields=["health", "state_changed_at", "state_reason", "updated_at"]
            ),
            False,
        ),
        (
            lambda i: (
                setattr(i, "health", "unhealthy"),
                setattr(i, "state_reason", "probe failed"),
                i.save(),
            ),
            False,
        ),
        (lambda i: (setattr(i, "last_heartbeat_at", timezone.now()), i.save()), False),
        (lambda i: (setattr(i, "weight", 7), i.save()), True),
        (lambda i: (setattr(i, "draining", True), i.save()), True),
        (lambda i: i.save(update_fields=["weight"]), True),
        (lambda i: i.delete(), True),
    ],
)
def test_instance_health_changes_do_not_publish_but_config_changes_do(
    rows: Rows, change: Any, publishes: bool, redis_client: redis_lib.Redis
) -> None:
    instance = Instance.objects.get(service=rows.service, host="10.0.0.1")
    change(instance)
    assert len(_queued(redis_client)) == int(publishes)


def test_key_usage_does_not_publish_but_revocation_does(
    rows: Rows, redis_client: redis_lib.Redis
) -> None:
    key = ApiKey.objects.get(pk=rows.active_key.pk)
    key.last_used_at = timezone.now()
    key.save()
    key.save(update_fields=["last_used_at"])
    assert _queued(redis_client) == []
    key.revoked_at = timezone.now()
    key.save()
    assert len(_queued(redis_client)) == 1


def test_a_partly_loaded_instance_publishes_only_when_it_saves_a_published_field(
    rows: Rows, redis_client: redis_lib.Redis
) -> None:
    # Django saves only the loaded fields of a deferred instance, as update_fields.
    health_only = Instance.objects.only("id", "health").get(service=rows.service, host="10.0.0.1")
    health_only.health = "unhealthy"
    health_only.save()
    assert _queued(redis_client) == []
    with_weight = Instance.objects.only("id", "weight").get(pk=health_only.pk)
    with_weight.weight = 3
    with_weight.save()
    assert len(_queued(redis_client)) == 1


def test_the_change_is_kept_when_redis_is_down(
    rows: Rows, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    with caplog.at_level(logging.WARNING, "portal.publishing"):
        rows.v1.upstream_path = "/kept"
        rows.v1.save()
    assert ApiVersion.objects.get(pk=rows.v1.pk).upstream_path == "/kept"
    assert "could not schedule a config publish (ConnectionError" in caplog.text


def test_the_task_publishes_once_and_is_a_no_op_when_run_again(rows: Rows) -> None:
    first = publish_config(reason="test")
    assert isinstance(first, int)
    assert publish_config(reason="test again") is None
