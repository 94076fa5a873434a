"""`manage.py health_schedule`: sync the beat rows with MESHGATE_HEALTH (shards, queue)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from registry.health.beat import ensure_schedule


class Command(BaseCommand):
    help = "Create or update the health-check periodic tasks for the configured shards."

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ensure_schedule():
            self.stdout.write(f"scheduled: {name}")
