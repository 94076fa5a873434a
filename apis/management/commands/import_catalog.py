"""`manage.py import_catalog FILE [--dry-run] [--prune] [--yes] [--actor USERNAME]`.

Validates the whole file, prints the diff against the database, then applies it in one
transaction. Exit status: 0 applied (or nothing to do, or a dry run), 1 invalid file or
failed import (nothing changed), 2 not confirmed (nothing changed).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apis.catalog_io import CatalogError, ImportPlan, apply_import, plan_import

NOT_CONFIRMED = 2


class Command(BaseCommand):
    help = "Import services, APIs, versions and plans from a YAML file made by export_catalog."
    # Tests hand in a terminal of their own.
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the YAML file")
        parser.add_argument("--dry-run", action="store_true", help="show the diff, change nothing")
        parser.add_argument(
            "--prune", action="store_true", help="delete what the file does not list"
        )
        parser.add_argument("--yes", action="store_true", help="apply without asking")
        parser.add_argument(
            "--actor", help="username recorded in the audit log (default: first superuser)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options["actor"])
        plan = self.plan(self.read(options["file"]), prune=options["prune"])
        self.stdout.write("\n".join(plan.describe()))
        if not plan.changes:
            self.stdout.write("Nothing to change.")
        elif options["dry_run"]:
            self.stdout.write("Dry run: nothing was changed.")
        elif self.confirmed(options["yes"], options.get("stdin") or sys.stdin):
            self.apply(plan, actor)

    def read(self, name: str) -> str:
        try:
            return Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {name}: {exc}") from None

    def actor(self, username: str | None) -> Any:
        users = get_user_model().objects
        if username is None:
            return users.filter(is_superuser=True, is_active=True).order_by("pk").first()
        actor = users.filter(username=username, is_active=True).first()
        if actor is None:
            raise CommandError(f"--actor: no active user named '{username}'")
        return actor

    def plan(self, text: str, *, prune: bool) -> ImportPlan:
        try:
            return plan_import(text, prune=prune)
        except CatalogError as exc:
            raise CommandError(f"the file is not valid; nothing was changed:\n{exc}") from None

    def confirmed(self, yes: bool, stdin: TextIO) -> bool:
        if yes:
            return True
        if not stdin.isatty():
            raise CommandError(
                "not applied: pass --yes to apply without a terminal", returncode=NOT_CONFIRMED
            )
        self.stdout.write("Apply these changes? [y/N] ", ending="")
        self.stdout.flush()
        if stdin.readline().strip().lower() in ("y", "yes"):
            return True
        raise CommandError("cancelled; nothing was changed", returncode=NOT_CONFIRMED)

    def apply(self, plan: ImportPlan, actor: Any) -> None:
        try:
            apply_import(plan, actor=actor)
        except CatalogError as exc:
            raise CommandError(f"the import failed; nothing was changed:\n{exc}") from None
        self.stdout.write(self.style.SUCCESS(f"Applied {len(plan.changes)} change(s)."))
