"""Schedule the hourly purge of expired token revocations for `celery beat`."""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "apis: purge expired token revocations"


def schedule(apps, schema_editor):
    interval, _ = apps.get_model("django_celery_beat", "IntervalSchedule").objects.get_or_create(
        every=1, period="hours"
    )
    apps.get_model("django_celery_beat", "PeriodicTask").objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": "apis.tasks.purge_expired_revocations",
            "interval": interval,
            "enabled": True,
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
        ("apis", "0003_issued_token"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
