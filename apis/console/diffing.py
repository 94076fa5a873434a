"""What an import would change: routes added and removed, and a text diff of the documents."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import orjson

from apis.choices import Lifecycle
from apis.models import ApiVersion
from apis.services.openapi import Operation

# Beyond this many characters a line diff costs seconds; the route table still shows the change.
MAX_DIFF_CHARS = 1_000_000
MAX_DIFF_LINES = 3000


# The preview lists this many routes; a 5 MB document has thousands, the counts say the rest.
PREVIEW_ROUTES = 500


@dataclass
class RouteChange:
    added: list[Operation] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)
    kept: int = 0
    # (operation, is new) for the first PREVIEW_ROUTES operations, in document order.
    rows: list[tuple[Operation, bool]] = field(default_factory=list)
    hidden: int = 0


def baseline_version(version: ApiVersion) -> ApiVersion | None:
    """What the gateway serves for this API now: the version itself when live, else the
    newest published or deprecated version of the same API."""
    if version.state in (Lifecycle.PUBLISHED, Lifecycle.DEPRECATED):
        return version
    live = version.api.versions.filter(state__in=[Lifecycle.PUBLISHED, Lifecycle.DEPRECATED])
    return live.order_by("-published_at", "-id").first()


def route_change(operations: list[Operation], current: set[tuple[str, str]]) -> RouteChange:
    wanted = {op.key for op in operations}
    return RouteChange(
        added=[op for op in operations if op.key not in current],
        removed=sorted(current - wanted, key=lambda key: (key[1], key[0])),
        kept=len(wanted & current),
        rows=[(op, op.key not in current) for op in operations[:PREVIEW_ROUTES]],
        hidden=max(len(operations) - PREVIEW_ROUTES, 0),
    )


def pretty(document: Any) -> str:
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


def document_diff(old: Any, new: Any, *, old_name: str, new_name: str) -> list[str] | None:
    """Unified diff lines of the two documents as sorted JSON; None when too large to diff."""
    before, after = pretty(old or {}), pretty(new or {})
    if len(before) + len(after) > MAX_DIFF_CHARS:
        return None
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), old_name, new_name, lineterm="", n=2
    )
    return list(_take(lines, MAX_DIFF_LINES))


def _take(lines: Any, limit: int) -> Any:
    for count, line in enumerate(lines):
        if count == limit:
            yield f"… diff cut after {limit} lines"
            return
        yield line
