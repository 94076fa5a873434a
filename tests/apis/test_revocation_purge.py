from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apis.models import RevokedToken
from apis.tasks import purge_expired_revocations_task

pytestmark = pytest.mark.django_db


def test_it_purges_only_revocations_of_expired_tokens() -> None:
    now = timezone.now()
    RevokedToken.objects.create(jti="gone", expires_at=now - timedelta(seconds=1))
    RevokedToken.objects.create(jti="still-valid", expires_at=now + timedelta(minutes=5))
    assert purge_expired_revocations_task() == 1
    assert list(RevokedToken.objects.values_list("jti", flat=True)) == ["still-valid"]


def test_beat_schedules_the_purge_hourly() -> None:
    task = PeriodicTask.objects.get(task="apis.tasks.purge_expired_revocations")
    assert task.enabled and (task.interval.every, task.interval.period) == (1, "hours")
