from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import orjson
import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from gateway_runtime.redis_url import redact_url
from portal.publishing import store
from portal.publishing.compiler import compile_snapshot, read_one_database_snapshot


class Command(BaseCommand):
    help = (
        "Print the current snapshot (as published in Redis) for a gateway running from a file; "
        "--compile builds it from the database without publishing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--compile", action="store_true", help="compile from the database (revision 0)"
        )
        parser.add_argument(
            "--output", metavar="FILE", help="write to FILE (atomically) instead of stdout"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        body = self._compiled() if options["compile"] else self._published()
        if options["output"]:
            _write_atomically(Path(options["output"]), body)
            self.stderr.write(f"wrote {len(body)} bytes to {options['output']}")
        else:
            self.stdout.write(body.decode())

    def _compiled(self) -> bytes:
        with transaction.atomic():
            read_one_database_snapshot()
            return orjson.dumps(compile_snapshot())

    def _published(self) -> bytes:
        try:
            body = store.read_current()
        except redis.exceptions.RedisError as exc:
            raise CommandError(
                f"Redis is unreachable ({redact_url(settings.REDIS_URL)}: {exc}); "
                "use --compile to build the snapshot from the database"
            ) from None
        if body is None:
            raise CommandError(
                "nothing has been published yet; run `manage.py publish` or use --compile"
            )
        return body


def _write_atomically(path: Path, body: bytes) -> None:
    # A gateway reading the file must see the old or the new snapshot, never half of one.
    handle, temporary = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.")
    with os.fdopen(handle, "wb") as out:
        out.write(body)
    os.replace(temporary, path)
