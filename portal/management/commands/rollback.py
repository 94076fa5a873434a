from __future__ import annotations

from typing import Any

import redis
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.publishing.services import rollback_revision


class Command(BaseCommand):
    help = "Re-publish the content of an old revision as a new revision."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "revision", type=int, help="the revision whose content to publish again"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            revision = rollback_revision(options["revision"], actor=None)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        except redis.exceptions.RedisError as exc:
            raise CommandError(f"cannot roll back, Redis is unavailable: {exc}") from None
        self.stdout.write(
            f"revision {revision.revision} now serves the content of "
            f"revision {options['revision']} "
            f"(checksum {revision.checksum})"
        )
