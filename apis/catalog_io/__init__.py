"""Catalogue export/import as YAML, so admins can keep services, APIs, versions and plans in git.

- `export_catalog()` -> the YAML text (deterministic: equal catalogues give equal bytes).
- `plan_import(text, prune=...)` parses and validates the whole file and diffs it with the
  database, writing nothing; `apply_import(plan, actor=...)` applies it in one transaction.

Modules: yaml_source (text -> values + lines), schema/fields (what a record holds),
validate/routes (file -> normalised catalogue), export, diff, apply (+ apply_apis, apply_registry).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apis.catalog_io.apply import apply_changes
from apis.catalog_io.diff import Change, diff_catalog, format_changes, refusals
from apis.catalog_io.errors import CatalogError, Problem
from apis.catalog_io.export import catalog_state, dump_catalog
from apis.catalog_io.validate import CatalogValidator
from apis.catalog_io.yaml_source import YamlSource, child_path, load_yaml
from registry.models import Service

if TYPE_CHECKING:
    from portal.models import User

__all__ = ["CatalogError", "ImportPlan", "Problem", "apply_import", "export_catalog", "plan_import"]


def export_catalog() -> str:
    """The whole catalogue as YAML, with a `format_version: 1` header."""
    return dump_catalog(catalog_state())


@dataclass(frozen=True)
class ImportPlan:
    changes: list[Change]
    source: YamlSource
    paths: dict[tuple[Any, ...], str]

    def where(self, change: Change) -> Problem:
        path = self.paths.get(change.ident, "")
        return Problem(path, self.source.line(path) if path else None, "")

    def describe(self) -> list[str]:
        return format_changes(self.changes)


def plan_import(text: str, *, prune: bool = False) -> ImportPlan:
    """Parse, validate and diff `text`; raise CatalogError listing every problem. Writes nothing."""
    source = load_yaml(text)
    # Without --prune the services missing from the file stay, so versions may still use them.
    known = set() if prune else set(Service.objects.values_list("slug", flat=True))
    validator = CatalogValidator(source, known_services=known)
    desired = validator.validate()
    plan = ImportPlan(diff_catalog(catalog_state(), desired, prune=prune), source, validator.paths)
    problems = [
        Problem(here, source.line(here), reason)
        for change, field, reason in refusals(plan.changes)
        if (here := child_path(validator.paths[change.ident], field))
    ]
    if problems:
        raise CatalogError(problems)
    return plan


def apply_import(plan: ImportPlan, *, actor: User | None) -> None:
    """Apply the plan's changes in one transaction: all of them, or none on the first failure."""
    apply_changes(plan.changes, actor=actor, where=plan.where)
