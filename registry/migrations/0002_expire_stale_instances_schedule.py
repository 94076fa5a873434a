"""Schedule the heartbeat TTL task for `celery beat` with the DatabaseScheduler."""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "registry: expire stale self-registered instances"
TASK = "registry.tasks.expire_stale_instances"
EVERY_SECONDS = 5


def schedule(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = interval_model.objects.get_or_create(every=EVERY_SECONDS, period="seconds")
    task_model.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": TASK,
            "interval": interval,
            "enabled": True,
            # A run that waited longer than one period is superseded by the next one.
            "expire_seconds": EVERY_SECONDS,
            "description": "Heartbeat TTL: unhealthy after the TTL, removed after deregister_after.",
        },
    )
    # Historical models skip django-celery-beat's signals; tell a running beat to reload.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()}
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
