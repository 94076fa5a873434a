"""Configuration revisions (list, diff any two, publish, one-click rollback) and the audit log."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import redis
from auditlog.models import LogEntry
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from apis.console.access import actor_of, admin_required
from apis.console.diffing import document_diff
from apis.console.forms import RevisionDiffForm
from portal.api.audit import ACTIONS, LogEntryFilterSet
from portal.models import ConfigRevision
from portal.paging import paginate, query_without_page
from portal.publishing import store
from portal.publishing.services import publish_revision, read_snapshot, rollback_revision
from registry.web.sources import gateway_summary, list_gateways

STORE_DOWN = "The configuration store (Redis) is unavailable; try again shortly."


@admin_required
def revisions(request: HttpRequest) -> HttpResponse:
    rows = ConfigRevision.objects.select_related("created_by").order_by("-revision")
    page = paginate(request, rows)
    latest = page.object_list[0].revision if page.number == 1 and page.object_list else None
    context = {
        "page": page,
        "kept": _kept_revisions(),
        # A list, not the Counter: a template's `.items` on a Counter is a lookup of "items" (0).
        "serving": sorted(Counter(w.revision for w in list_gateways() if w.fresh).items()),
        "form": RevisionDiffForm(initial={"a": (latest or 2) - 1, "b": latest}),
        "gateways": gateway_summary(),
        "query": query_without_page(request),
    }
    return render(request, "console/revisions.html", context)


@admin_required
def revision_diff(request: HttpRequest) -> HttpResponse:
    form = RevisionDiffForm(request.GET or None)
    context: dict[str, Any] = {"form": form, "diff": None}
    if form.is_valid():
        a, b = form.cleaned_data["a"], form.cleaned_data["b"]
        with _store(request):
            old, new = read_snapshot(a), read_snapshot(b)
            missing = [str(n) for n, doc in ((a, old), (b, new)) if doc is None]
            if missing:
                form.add_error(
                    None, f"revision {', '.join(missing)} is not kept any more (or never existed)"
                )
            else:
                context["diff"] = document_diff(
                    _comparable(old),
                    _comparable(new),
                    old_name=f"revision {a}",
                    new_name=f"revision {b}",
                )
                context.update(a=a, b=b)
    return render(request, "console/revision_diff.html", context)


@admin_required
@require_POST
def revision_publish(request: HttpRequest) -> HttpResponse:
    with _store(request):
        row = publish_revision(actor=actor_of(request), reason="published from the console")
        if row is None:
            messages.info(request, "Nothing changed since the current revision.")
        else:
            messages.success(request, f"Published revision {row.revision}.")
    return redirect("console:revisions")


@admin_required
@require_POST
def revision_rollback(request: HttpRequest, revision: int) -> HttpResponse:
    old = get_object_or_404(ConfigRevision, revision=revision)
    with _store(request):
        try:
            row = rollback_revision(old.revision, actor=actor_of(request))
        except ValidationError as error:
            messages.error(request, "; ".join(error.messages))
        else:
            messages.success(
                request,
                f"Rolled back: revision {row.revision} serves the content of {old.revision}.",
            )
    return redirect("console:revisions")


@admin_required
def audit_log(request: HttpRequest) -> HttpResponse:
    entries = LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp", "-id")
    filters = LogEntryFilterSet(request.GET or None, queryset=entries)
    rows = filters.qs if filters.is_bound and filters.is_valid() else entries
    search = request.GET.get("q", "").strip()
    if search:
        rows = rows.filter(object_repr__icontains=search)
    page = paginate(request, rows)
    context = {
        "page": page,
        "filters": filters,
        "q": search,
        "actions": ACTIONS,
        "query": query_without_page(request),
    }
    return render(request, "console/audit.html", context)


def _kept_revisions() -> set[int] | None:
    """Revisions whose bodies Redis still holds (rollback and diff need them); None if down."""
    try:
        return set(store.list_revisions())
    except redis.exceptions.RedisError:
        return None


def _comparable(document: Any) -> Any:
    # Revision and time differ between any two revisions; they are in the page heading.
    return {k: v for k, v in document.items() if k not in ("revision", "created_at")}


@contextlib.contextmanager
def _store(request: HttpRequest) -> Iterator[None]:
    try:
        yield
    except redis.exceptions.RedisError:
        messages.error(request, STORE_DOWN)
