"""Schedule the health ticks, the history roll-up and the purge (registry/health/beat.py)."""

from django.db import migrations


def schedule(apps, schema_editor):
    from registry.health.beat import ensure_schedule

    ensure_schedule(apps)


def unschedule(apps, schema_editor):
    from registry.health.beat import unschedule

    unschedule(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0003_health_results"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
