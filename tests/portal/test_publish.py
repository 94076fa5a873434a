from __future__ import annotations

import threading
from typing import Any

import orjson
import pytest
import redis as redis_lib
from django.core.exceptions import ValidationError

from apis.models import Plan
from gateway_runtime.contract.canonical import content_checksum
from gateway_runtime.contract.validate import validate_snapshot
from portal.local_redis import free_port
from portal.models import ConfigRevision
from portal.publishing import store
from portal.publishing.services import publish_revision, read_snapshot, rollback_revision
from portal.redis import redis_key
from tests.contract.rows import Rows, build_rows

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _publishing(settings: Any, redis_client: redis_lib.Redis) -> None:
    settings.MESHGATE_PUBLISH = {**settings.MESHGATE_PUBLISH, "VALIDATE": True}


@pytest.fixture
def rows(bob: Any, carol: Any) -> Rows:
    return build_rows(bob, carol)


def _current() -> dict[str, Any]:
    body = store.read_current()
    assert body is not None
    return orjson.loads(body)


def test_it_publishes_a_valid_snapshot_and_announces_it(
    rows: Rows, redis_client: redis_lib.Redis
) -> None:
    pubsub = redis_client.pubsub()
    pubsub.subscribe(store.channel())
    pubsub.get_message(timeout=1)  # the subscribe confirmation
    revision = publish_revision(actor=rows.app.owner, reason="first")
    document = _current()
    assert validate_snapshot(document) == []
    assert (document["revision"], document["checksum"]) == (revision.revision, revision.checksum)
    assert revision.created_by == rows.app.owner and revision.size_bytes == len(
        store.read_current() or b""
    )
    message = pubsub.get_message(timeout=2)
    assert orjson.loads(message["data"]) == {
        "revision": revision.revision,
        "checksum": revision.checksum,
    }
    pubsub.close()


def test_it_makes_no_new_revision_when_nothing_changed(rows: Rows) -> None:
    first = publish_revision(reason="first")
    assert publish_revision(reason="again") is None
    assert ConfigRevision.objects.count() == 1 and store.current_revision() == first.revision
    forced = publish_revision(reason="forced", force=True)
    assert forced.revision > first.revision and forced.checksum == first.checksum


def test_it_publishes_again_when_the_content_changed(rows: Rows) -> None:
    first = publish_revision()
    Plan.objects.filter(pk=rows.gold.pk).update(requests_per_second=99)
    second = publish_revision()
    assert second is not None and second.checksum != first.checksum
    assert _current()["plans"][str(rows.gold.pk)]["rps"] == 99


def test_it_republishes_when_redis_lost_the_snapshot(
    rows: Rows, redis_client: redis_lib.Redis
) -> None:
    publish_revision()
    redis_client.flushdb()  # a Redis restart without persistence
    again = publish_revision()
    assert again is not None and _current()["revision"] == again.revision


def test_it_keeps_only_the_last_20_revisions(rows: Rows) -> None:
    made = [publish_revision(force=True).revision for _ in range(25)]
    assert store.list_revisions() == made[-20:]
    assert store.read_revision(made[4]) is None and store.read_revision(made[5]) is not None
    assert read_snapshot(made[0]) is None


def test_rollback_publishes_the_old_content_as_a_new_revision(rows: Rows) -> None:
    old = publish_revision()
    Plan.objects.filter(pk=rows.gold.pk).update(burst=500)
    publish_revision()
    back = rollback_revision(old.revision, actor=rows.app.owner)
    document = _current()
    assert back.revision > old.revision and back.rolled_back_from == old.revision
    assert document["revision"] == back.revision and document["checksum"] == old.checksum
    assert content_checksum(document) == old.checksum and validate_snapshot(document) == []
    assert document["plans"][str(rows.gold.pk)]["burst"] == 20


def test_rollback_names_a_revision_that_is_no_longer_kept(rows: Rows) -> None:
    first = publish_revision(force=True)
    for _ in range(20):
        publish_revision(force=True)
    with pytest.raises(ValidationError) as caught:
        rollback_revision(first.revision, actor=None)
    assert caught.value.message_dict == {
        "revision": [f"revision {first.revision} is no longer kept (only the last 20 are)"]
    }


def test_the_store_never_moves_current_backwards(rows: Rows) -> None:
    latest = publish_revision()
    with pytest.raises(store.StaleRevision):
        store.write_revision(latest.revision - 1 if latest.revision > 1 else 0, b"{}", "sha256:x")
    assert store.current_revision() == latest.revision


def test_a_reader_never_sees_half_or_a_mix_of_two_revisions(rows: Rows, redis_url: str) -> None:
    """200 publishes of changing content while a reader polls current -> body as a gateway would."""
    stop, seen, problems = threading.Event(), set(), []

    def read_loop() -> None:
        client = redis_lib.Redis.from_url(redis_url)
        while not stop.is_set():
            pointer = client.get(redis_key("config", "current"))
            body = client.get(redis_key("config", "rev", int(pointer))) if pointer else None
            if (
                pointer
                and body is None
                and int(client.get(redis_key("config", "current"))) - int(pointer) < 20
            ):
                problems.append(f"pointer {int(pointer)} had no body")  # not trimmed: half written
            for document, expected in (
                (_loads(body), pointer),
                (_loads(store.read_current(client=client)), None),
            ):
                if document is None:
                    continue
                if content_checksum(document) != document["checksum"]:
                    problems.append(f"checksum mismatch in revision {document['revision']}")
                if expected is not None and document["revision"] != int(expected):
                    problems.append(f"pointer {expected} served revision {document['revision']}")
                seen.add(document["revision"])
        client.close()

    reader = threading.Thread(target=read_loop)
    reader.start()
    try:
        for step in range(200):
            Plan.objects.filter(pk=rows.gold.pk).update(requests_per_second=step + 1)
            publish_revision(reason=f"step {step}")
    finally:
        stop.set()
        reader.join()
    assert problems == []
    assert len(seen) > 20  # the reader really overlapped the writes
    assert _current()["plans"][str(rows.gold.pk)]["rps"] == 200
    assert validate_snapshot(_current()) == []


def _loads(body: bytes | None) -> dict[str, Any] | None:
    return None if body is None else orjson.loads(body)


def test_publishing_fails_cleanly_and_records_nothing_when_redis_is_down(
    rows: Rows, settings: Any
) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(redis_lib.exceptions.ConnectionError):
        publish_revision(force=True)
    assert ConfigRevision.objects.count() == 0


def test_a_fresh_database_continues_after_the_revisions_already_in_redis(rows: Rows) -> None:
    first = publish_revision(force=True)
    ConfigRevision.objects.all().delete()  # as after `make clean` beside a long-lived Redis
    again = publish_revision(force=True)
    assert again.revision == first.revision + 1
    assert store.current_revision() == again.revision
