"""`manage.py export_catalog [--output FILE]`: the catalogue as YAML, for keeping in git."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apis.catalog_io import export_catalog


class Command(BaseCommand):
    help = "Print services, APIs, versions and plans as YAML (no applications, keys or users)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", help="write to this file instead of standard output")

    def handle(self, *args: Any, **options: Any) -> None:
        text = export_catalog()
        if not options["output"]:
            self.stdout.write(text, ending="")
            return
        try:
            Path(options["output"]).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {options['output']}: {exc.strerror}") from None
        self.stderr.write(f"wrote {options['output']}")
