"""The beat schedule of the health workers (django-celery-beat rows, editable in the portal).

One tick per shard every second, each expiring after a second: a tick that waited longer
is superseded by the next one, which claims the missed part of the schedule anyway (see
lease.py). Plus the history roll-up (every 30 s) and the retention purge (hourly).
Run `manage.py health_schedule` after changing MESHGATE_HEALTH["SHARDS"] or ["QUEUE"].
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps
from django.conf import settings
from django.utils import timezone

TICK_NAME = "health: tick shard {shard}"
TICK_TASK = "registry.tasks.health_tick"
ROLLUP_NAME = "health: roll up check history"
PURGE_NAME = "health: purge old check history"


def ensure_schedule(
    apps: Any = global_apps, *, shards: int | None = None, queue: str | None = None
) -> list[str]:
    """Create or update the periodic tasks for the shards; returns their names.

    `apps` is a migration's historical registry when called from a migration; shards and
    queue default to MESHGATE_HEALTH.
    """
    conf = settings.MESHGATE_HEALTH
    shards = int(conf["SHARDS"]) if shards is None else shards
    queue = (queue or str(conf["QUEUE"])) or None
    interval = apps.get_model("django_celery_beat", "IntervalSchedule")
    task = apps.get_model("django_celery_beat", "PeriodicTask")
    names = []
    for shard in range(shards):
        names.append(TICK_NAME.format(shard=shard))
        _upsert(
            task,
            interval,
            names[-1],
            TICK_TASK,
            1,
            args=f"[{shard}]",
            queue=queue,
            about=f"Health checks of shard {shard} (instance id % {shards}).",
        )
    task.objects.filter(task=TICK_TASK).exclude(name__in=names).delete()
    rollup, purge = "registry.tasks.roll_up_health_history", "registry.tasks.purge_health_history"
    _upsert(task, interval, ROLLUP_NAME, rollup, 30, queue=None, about="Per-minute history.")
    _upsert(task, interval, PURGE_NAME, purge, 3600, queue=None, about="History retention.")
    # Historical models skip django-celery-beat's signals; tell a running beat to reload.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )
    return [*names, ROLLUP_NAME, PURGE_NAME]


def _upsert(
    task: Any,
    interval: Any,
    name: str,
    path: str,
    every: int,
    *,
    queue: str | None,
    args: str = "[]",
    about: str = "",
) -> None:
    schedule, _ = interval.objects.get_or_create(every=every, period="seconds")
    task.objects.update_or_create(
        name=name,
        defaults={
            "task": path,
            "interval": schedule,
            "args": args,
            "enabled": True,
            "queue": queue,
            "expire_seconds": every,
            "description": about,
        },
    )


def unschedule(apps: Any = global_apps) -> None:
    task = apps.get_model("django_celery_beat", "PeriodicTask")
    task.objects.filter(name__in=[ROLLUP_NAME, PURGE_NAME]).delete()
    task.objects.filter(task=TICK_TASK).delete()
