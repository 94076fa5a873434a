from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from portal.demo import seed_demo


class Command(BaseCommand):
    help = "Create the demo accounts, service, API, plan, application and key (once)."

    def handle(self, *args: Any, **options: Any) -> None:
        for line in seed_demo():
            self.stdout.write(line)
