"""History: per-minute roll-up of the samples, and retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis as redis_lib
import time_machine

from registry.health.history import percentile, purge, record_samples, roll_up
from registry.models import Ejection, HealthMinute
from registry.tasks import purge_health_history

pytestmark = pytest.mark.django_db


def test_closed_minutes_become_one_row_per_instance(
    redis_client: redis_lib.Redis, make_service, make_instance
) -> None:
    service = make_service()
    a, b = make_instance(service, 9001), make_instance(service, 9002)
    minute = datetime(2026, 11, 29, 9, 0, tzinfo=UTC).timestamp()
    samples = [(a.pk, True, float(ms), minute + ms / 10) for ms in range(1, 101)]
    samples += [(b.pk, False, 2000.0, minute + 5), (b.pk, True, 7.0, minute + 15)]
    record_samples(redis_client, samples[:50])
    record_samples(redis_client, samples[50:])
    record_samples(redis_client, [(a.pk, True, 1.0, minute + 61)])  # the next minute

    assert roll_up(redis_client, now=minute + 60) == 0  # not closed yet (grace)
    assert roll_up(redis_client, now=minute + 100) == 2
    rows = {row.instance_id: row for row in HealthMinute.objects.all()}
    assert (rows[a.pk].checks, rows[a.pk].successes) == (100, 100)
    assert (rows[a.pk].p50_ms, rows[a.pk].p95_ms, rows[a.pk].p99_ms) == (50.0, 95.0, 99.0)
    assert (rows[b.pk].checks, rows[b.pk].successes, rows[b.pk].success_ratio) == (2, 1, 0.5)
    assert rows[b.pk].p99_ms == 7.0  # failures carry no latency
    assert roll_up(redis_client, now=minute + 100) == 0  # consumed
    assert roll_up(redis_client, now=minute + 200) == 1


def test_a_minute_of_only_failures_has_no_percentiles(
    redis_client: redis_lib.Redis, make_service, make_instance
) -> None:
    instance = make_instance(make_service(), 9001)
    at = datetime(2026, 11, 29, 9, 0, tzinfo=UTC).timestamp()
    record_samples(redis_client, [(instance.pk, False, 300.0, at)])
    roll_up(redis_client, now=at + 120)
    row = HealthMinute.objects.get()
    assert (row.success_ratio, row.p50_ms) == (0.0, None)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([1.0], 99) == 1.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0


def test_retention_drops_only_what_is_older_than_seven_days(make_service, make_instance) -> None:
    instance = make_instance(make_service(), 9001)
    now = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    for age in (timedelta(days=8), timedelta(days=7, minutes=1), timedelta(days=6, hours=23)):
        HealthMinute.objects.create(instance=instance, minute=now - age, checks=1, successes=1)
    Ejection.objects.create(
        instance=instance,
        gateway="g/1",
        ejected_at=now - timedelta(days=9),
        until=now - timedelta(days=9),
        restored_at=now - timedelta(days=9),
    )
    Ejection.objects.create(
        instance=instance,
        gateway="g/1",
        ejected_at=now - timedelta(days=9, seconds=1),
        until=now,
        restored_at=None,
    )  # still open: kept
    result = purge(now=now, retention_days=7)
    assert (result.minutes, result.ejections) == (2, 1)
    assert list(HealthMinute.objects.values_list("minute", flat=True)) == [
        now - timedelta(days=6, hours=23)
    ]
    assert Ejection.objects.count() == 1


def test_the_purge_task_uses_the_configured_retention(
    make_service, make_instance, settings
) -> None:  # type: ignore[no-untyped-def]
    instance = make_instance(make_service(), 9001)
    settings.MESHGATE_HEALTH = {**settings.MESHGATE_HEALTH, "RETENTION_DAYS": 2}
    with time_machine.travel(datetime(2026, 11, 29, 12, 0, tzinfo=UTC), tick=False):
        HealthMinute.objects.create(
            instance=instance,
            minute=datetime(2026, 11, 27, 11, 0, tzinfo=UTC),
            checks=1,
            successes=1,
        )
        HealthMinute.objects.create(
            instance=instance,
            minute=datetime(2026, 11, 27, 13, 0, tzinfo=UTC),
            checks=1,
            successes=1,
        )
        assert purge_health_history()["minutes"] == 1
    assert HealthMinute.objects.count() == 1
