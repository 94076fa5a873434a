"""Configuration revisions (diff any two, publish, one-click rollback) and the audit log."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from apis.models import ApiVersion
from apis.services.catalogue import create_api, publish_version
from apis.services.plans import create_plan
from portal.models import ConfigRevision
from portal.publishing import store
from portal.publishing.services import publish_revision

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_revisions(alice: Any, petstore: ApiVersion) -> tuple[int, int]:
    publish_version(petstore, actor=alice)
    first = publish_revision(actor=alice, reason="first")
    create_plan(petstore.api, actor=alice, name="Gold", slug="gold", requests_per_second=7)
    second = publish_revision(actor=alice, reason="second")
    assert first and second
    return first.revision, second.revision


def test_the_list_shows_revisions_and_which_is_current(
    as_alice: Client, two_revisions: tuple[int, int]
) -> None:
    page = as_alice.get(reverse("console:revisions"))
    assert page.status_code == 200
    assert "first" in page.text and "second" in page.text
    assert page.context["gateways"].current_revision == two_revisions[1]
    assert "Roll back to this" in page.text


def test_the_diff_between_two_revisions_shows_the_change(
    as_alice: Client, two_revisions: tuple[int, int]
) -> None:
    a, b = two_revisions
    page = as_alice.get(reverse("console:revision_diff"), {"a": a, "b": b})
    assert page.status_code == 200
    added = [line for line in page.context["diff"] if line.startswith("+")]
    assert any('"rps": 7' in line for line in added)
    assert not any('"revision"' in line for line in page.context["diff"])
    same = as_alice.get(reverse("console:revision_diff"), {"a": b, "b": b})
    assert "the same content" in same.text


def test_a_revision_no_longer_kept_is_explained(
    as_alice: Client, two_revisions: tuple[int, int]
) -> None:
    page = as_alice.get(reverse("console:revision_diff"), {"a": 999, "b": two_revisions[1]})
    assert "revision 999 is not kept" in page.text
    bad = as_alice.get(reverse("console:revision_diff"), {"a": "x", "b": 1})
    assert "Enter a whole number" in bad.text


def test_one_click_rollback_republishes_the_old_content(
    as_alice: Client, two_revisions: tuple[int, int]
) -> None:
    a, b = two_revisions
    response = as_alice.post(reverse("console:revision_rollback", args=[a]), follow=True)
    newest = ConfigRevision.objects.order_by("-revision").first()
    assert newest.revision == b + 1 and newest.rolled_back_from == a
    assert newest.checksum == ConfigRevision.objects.get(revision=a).checksum
    assert store.current_revision() == b + 1
    assert f"serves the content of {a}" in response.text


def test_publish_now_says_when_nothing_changed(as_alice: Client, two_revisions: Any) -> None:
    response = as_alice.post(reverse("console:revision_publish"), follow=True)
    assert "Nothing changed" in response.text


def test_the_store_being_down_is_a_message_not_a_crash(
    settings: Any, as_alice: Client, two_revisions: Any
) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    response = as_alice.post(reverse("console:revision_publish"), follow=True)
    assert response.status_code == 200
    assert "Redis) is unavailable" in response.text


def test_the_audit_log_filters_by_actor_type_and_text(
    alice: Any, oscar: Any, as_alice: Client
) -> None:
    create_api(actor=alice, name="Weather", slug="weather")
    create_api(actor=oscar, name="Traffic", slug="traffic")
    everything = as_alice.get(reverse("console:audit"))
    assert "Weather" in everything.text and "Traffic" in everything.text

    by_oscar = as_alice.get(reverse("console:audit"), {"actor": "oscar"})
    assert "Traffic" in by_oscar.text and "Weather" not in by_oscar.text
    by_type = as_alice.get(reverse("console:audit"), {"object_type": "apis.api", "q": "weath"})
    assert [e.object_repr for e in by_type.context["page"].object_list] == ["Weather"]
    created = as_alice.get(
        reverse("console:audit"), {"action": "create", "since": "2000-01-01T00:00"}
    )
    assert created.context["page"].paginator.count >= 2
    bad = as_alice.get(reverse("console:audit"), {"since": "yesterday"})
    assert bad.status_code == 200 and "since: Enter a valid date/time" in bad.text


def test_revisions_no_longer_kept_offer_no_rollback(
    settings: Any, alice: Any, as_alice: Client, petstore: ApiVersion
) -> None:
    settings.MESHGATE_PUBLISH = {**settings.MESHGATE_PUBLISH, "HISTORY": 2}
    publish_version(petstore, actor=alice)
    first = publish_revision(actor=alice, reason="one")
    for n in range(2):
        create_plan(petstore.api, actor=alice, name=f"P{n}", slug=f"p{n}")
        publish_revision(actor=alice, reason=f"plan {n}")
    page = as_alice.get(reverse("console:revisions"))
    assert first and first.revision not in page.context["kept"]
    assert "not kept" in page.text
    rollback = reverse("console:revision_rollback", args=[first.revision])
    assert rollback not in page.text
    response = as_alice.post(rollback, follow=True)
    assert "is no longer kept" in response.text


def test_each_revision_shows_how_many_gateway_workers_serve_it(
    as_alice: Client, two_revisions: tuple[int, int], redis_client: Any
) -> None:
    import time

    import orjson

    from portal.redis import redis_key

    a, b = two_revisions
    now = time.time()
    for pid, revision in ((1, b), (2, b), (3, a)):
        report = {"gateway": "edge:8080", "pid": pid, "revision": revision, "heartbeat_at": now}
        redis_client.hset(redis_key("gateways"), f"edge:8080/{pid}", orjson.dumps(report))
    page = as_alice.get(reverse("console:revisions"))
    assert page.context["serving"] == [(a, 1), (b, 2)]
    assert "served by 2" in page.text and "served by 1" in page.text
    assert "2/3</strong> gateway workers on revision" in page.text
