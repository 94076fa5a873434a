from __future__ import annotations

import time
from typing import Any

import redis
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.publishing.services import publish_revision


class Command(BaseCommand):
    help = (
        "Compile the catalogue, registry and consumers and publish them to Redis as a new revision."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="publish even if nothing changed")
        parser.add_argument(
            "--reason", default="manage.py publish", help="recorded with the revision"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        try:
            revision = publish_revision(reason=options["reason"], force=options["force"])
        except redis.exceptions.RedisError as exc:
            raise CommandError(f"cannot publish, Redis is unavailable: {exc}") from None
        elapsed_ms = (time.perf_counter() - started) * 1000
        if revision is None:
            self.stdout.write(
                f"nothing changed since the current revision ({elapsed_ms:.0f} ms); use --force"
            )
            return
        self.stdout.write(
            f"revision {revision.revision} checksum {revision.checksum} "
            f"size {revision.size_bytes} bytes in {elapsed_ms:.0f} ms"
        )
