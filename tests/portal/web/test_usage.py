"""Usage per day from the gateways' Redis aggregates (contracts §4), on a real Redis."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import redis

from apis.services.usage import application_usage, day_field, day_key

pytest_plugins = ["tests.apis.consumer_fixtures"]
pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 29)


def _write(client: redis.Redis, day: date, counts: dict[tuple[int, int, int], int]) -> None:
    client.hset(day_key(day), mapping={day_field(*ids): count for ids, count in counts.items()})


def test_it_sums_requests_errors_and_429s_per_day_for_one_app(redis_client: redis.Redis) -> None:
    _write(
        redis_client,
        TODAY,
        {(7, 1, 200): 90, (7, 1, 404): 3, (7, 2, 429): 5, (7, 2, 502): 2, (8, 1, 200): 1000},
    )
    _write(redis_client, TODAY - timedelta(days=2), {(7, 1, 200): 10, (70, 1, 500): 9})
    report = application_usage(7, days=3, today=TODAY, client=redis_client)
    assert [d.day for d in report.days] == [TODAY - timedelta(days=n) for n in (2, 1, 0)]
    assert [(d.requests, d.errors, d.throttled) for d in report.days] == [
        (10, 0, 0),
        (0, 0, 0),
        (100, 5, 5),
    ]
    assert (report.total.requests, report.total.errors, report.total.throttled) == (110, 5, 5)
    assert report.by_version[2].throttled == 5 and report.by_version[1].requests == 103
    assert report.available


def test_it_reads_a_big_day_hash_by_scanning_only_the_apps_fields(
    redis_client: redis.Redis,
) -> None:
    _write(redis_client, TODAY, {(app, 1, 200): 1 for app in range(1, 5000)})
    assert application_usage(4321, days=1, today=TODAY, client=redis_client).total.requests == 1
    # "12|..." must not match app 1 or 123's fields.
    assert application_usage(12, days=1, today=TODAY, client=redis_client).total.requests == 1


def test_a_malformed_field_is_skipped(redis_client: redis.Redis) -> None:
    redis_client.hset(day_key(TODAY), mapping={"7|x|200": 4, "7|1": 3, "7|1|200": 2})
    assert application_usage(7, days=1, today=TODAY, client=redis_client).total.requests == 2


def test_redis_down_gives_an_empty_report_marked_unavailable() -> None:
    from portal.local_redis import free_port

    dead = redis.Redis(port=free_port(), socket_connect_timeout=0.2)
    report = application_usage(7, days=2, today=TODAY, client=dead)
    assert not report.available and report.total.requests == 0


def test_the_usage_page_shows_my_days_and_versions(
    web_client: Any, bob: Any, bobs_app: Any, catalogue: Any, redis_client: redis.Redis
) -> None:
    from django.utils import timezone

    today = timezone.now().date()
    version = catalogue.version.pk
    _write(redis_client, today, {(bobs_app.pk, version, 200): 41, (bobs_app.pk, version, 429): 1})
    page = web_client(bob).get(f"/apps/{bobs_app.pk}/usage/").content.decode()
    assert today.strftime("%Y-%m-%d") in page
    assert '<td class="num">42</td>' in page and "Stock v1" in page
    assert page.count("<tr><td>20") == 14  # 14 days by default
    detail = web_client(bob).get(f"/apps/{bobs_app.pk}/").content.decode()
    assert '<td class="num">42</td>' in detail


def test_the_usage_page_says_when_redis_is_down(
    web_client: Any, bob: Any, bobs_app: Any, settings: Any
) -> None:
    from portal.local_redis import free_port

    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = web_client(bob).get(f"/apps/{bobs_app.pk}/usage/")
    assert response.status_code == 200
    assert "Usage data is unavailable" in response.content.decode()


def test_htmx_refreshes_only_the_usage_table(
    web_client: Any, bob: Any, bobs_app: Any, redis_client: redis.Redis
) -> None:
    client = web_client(bob)
    detail = client.get(f"/apps/{bobs_app.pk}/").content.decode()
    assert f'hx-get="/apps/{bobs_app.pk}/usage/?days=7"' in detail
    partial = client.get(
        f"/apps/{bobs_app.pk}/usage/?days=7", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert partial.lstrip().startswith('<div id="usage"') and "<html" not in partial
    assert partial.count("<tr><td>20") == 7
