"""What an import would change: the catalogue now versus the catalogue in the file."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from apis.catalog_io.schema import API, CHILD_KINDS, SERVICE, Kind, parse_file_datetime
from apis.choices import Lifecycle

Ident = tuple[Any, ...]
_LIFECYCLE = (Lifecycle.DRAFT, Lifecycle.PUBLISHED, Lifecycle.DEPRECATED, Lifecycle.RETIRED)


@dataclass(frozen=True)
class FieldChange:
    name: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Change:
    action: str  # "create", "update" or "delete"
    kind: Kind
    ident: Ident  # ("version", "inventory", "v1")
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    fields: tuple[FieldChange, ...] = ()

    @property
    def label(self) -> str:
        """`version inventory/v1`, `instance inventory 10.0.0.1:9101`."""
        if self.kind.name == "instance":
            _kind, service, host, port = self.ident
            return f"instance {service} {host}:{port}"
        return f"{self.kind.name} {'/'.join(str(part) for part in self.ident[1:])}"


def diff_catalog(current: dict[str, Any], desired: dict[str, Any], *, prune: bool) -> list[Change]:
    """Changes in file order: a record, then its children. Deletions only with `prune`."""
    changes: list[Change] = []
    for kind, key in ((SERVICE, "services"), (API, "apis")):
        _diff_records(kind, current[key], desired[key], (), prune, changes)
    return changes


def _diff_records(
    kind: Kind,
    current: list[dict[str, Any]],
    desired: list[dict[str, Any]],
    parent: Ident,
    prune: bool,
    changes: list[Change],
) -> None:
    now = {_ident(kind, parent, record): record for record in current}
    wanted = {_ident(kind, parent, record): record for record in desired}
    for ident in [*wanted, *(i for i in now if i not in wanted)]:
        before, after = now.get(ident), wanted.get(ident)
        if after is None:
            if prune:
                changes.append(Change("delete", kind, ident, before, None))
            continue
        fields = _field_changes(kind, before or {}, after) if before else ()
        if before is None or fields:
            changes.append(
                Change("create" if before is None else "update", kind, ident, before, after, fields)
            )
        for child in kind.children:
            old = before[child] if before else []
            _diff_records(CHILD_KINDS[child], old, after[child], ident, prune, changes)


def _ident(kind: Kind, parent: Ident, record: dict[str, Any]) -> Ident:
    return (kind.name, *parent[1:], *(record[key] for key in kind.key))


def _field_changes(
    kind: Kind, before: dict[str, Any], after: dict[str, Any]
) -> tuple[FieldChange, ...]:
    changes = [
        FieldChange(name, before[name], after[name])
        for name in kind.fields
        if name != "routes" and before[name] != after[name]
    ]
    if "routes" in kind.fields:
        old, new = before["routes"], after["routes"]
        for key in sorted(old.keys() | new.keys()):
            if old.get(key, {}) != new.get(key, {}):
                changes.append(FieldChange(f"routes[{key!r}]", old.get(key, {}), new.get(key, {})))
    return tuple(changes)


def refusals(changes: list[Change]) -> list[tuple[Change, str, str]]:
    """Version updates the lifecycle forbids, as (change, field, reason), found before applying."""
    found = []
    for change in changes:
        if change.kind.name != "version" or change.after is None:
            continue
        before, after = (change.before or {}).get("state", Lifecycle.DRAFT), change.after["state"]
        if before == Lifecycle.RETIRED and change.action == "update":
            found.append((change, "state", "a retired version cannot be changed"))
        elif _LIFECYCLE.index(after) < _LIFECYCLE.index(before):
            found.append((change, "state", f"a {before} version cannot go back to {after}"))
        elif after == Lifecycle.DEPRECATED != before and _is_past(change.after["sunset_at"]):
            found.append((change, "sunset_at", "must be in the future to deprecate a version"))
    return found


def _is_past(moment: str | None) -> bool:
    return moment is not None and parse_file_datetime(moment) <= timezone.now()


def format_changes(changes: list[Change]) -> list[str]:
    """Human-readable lines: `+ created`, `~ updated` with `field: before -> after`, `- deleted`."""
    lines = []
    for change in changes:
        sign = {"create": "+", "update": "~", "delete": "-"}[change.action]
        lines.append(f"{sign} {change.label}")
        lines.extend(f"    {f.name}: {_show(f.before)} -> {_show(f.after)}" for f in change.fields)
    counts = {
        action: sum(c.action == action for c in changes)
        for action in ("create", "update", "delete")
    }
    lines.append(
        f"{counts['create']} to create, {counts['update']} to update, {counts['delete']} to delete"
    )
    return lines


def _show(value: Any) -> str:
    if isinstance(value, str) and ("\n" in value or len(value) > 80):
        digest = hashlib.sha256(value.encode()).hexdigest()[:12]
        return f"<text, {len(value.splitlines())} lines, sha256 {digest}>"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
