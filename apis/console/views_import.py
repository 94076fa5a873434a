"""Import an OpenAPI document into a version: upload, see problems in place, preview, apply."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from apis.console import staging
from apis.console.access import actor_of, admin_required
from apis.console.diffing import baseline_version, document_diff, route_change
from apis.console.forms import OpenApiUploadForm
from apis.console.forms_support import posted
from apis.models import ApiVersion
from apis.services import catalogue
from apis.services.openapi import OpenApiError, ParsedOpenApi, Problem, parse_openapi

# Lines of the uploaded text shown around each problem.
CONTEXT_LINES = 2


def _version(pk: int) -> ApiVersion:
    return get_object_or_404(ApiVersion.objects.select_related("api"), pk=pk)


@admin_required
@require_http_methods(["GET", "POST"])
def openapi_upload(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version(pk)
    form = OpenApiUploadForm(posted(request), request.FILES or None)
    context: dict[str, Any] = {"version": version, "api": version.api, "form": form}
    if request.method == "POST" and form.is_valid():
        source = form.source()
        try:
            parsed = parse_openapi(source)
        except OpenApiError as error:
            text = source.decode("utf-8", "replace") if isinstance(source, bytes) else source
            context.update(problems=error.problems, excerpts=_excerpts(text, error.problems))
            return render(request, "console/openapi_upload.html", context, status=422)
        token = staging.stage_upload(
            parsed.source, user_id=actor_of(request).pk, version_id=version.pk
        )
        return redirect("console:openapi_preview", pk=version.pk, token=token)
    return render(request, "console/openapi_upload.html", context)


@admin_required
def openapi_preview(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    version = _version(pk)
    parsed = _staged(request, version, token)
    current = set(version.routes.values_list("method", "path_template"))
    baseline = baseline_version(version)
    context = {
        "version": version,
        "api": version.api,
        "token": token,
        "parsed": parsed,
        "change": route_change(parsed.operations, current),
        "baseline": baseline,
        "diff": _diff_against(baseline, parsed),
    }
    return render(request, "console/openapi_preview.html", context)


@admin_required
@require_POST
def openapi_apply(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    version = _version(pk)
    parsed = _staged(request, version, token)
    try:
        catalogue.import_openapi(version, parsed, actor=actor_of(request))
    except OpenApiError as error:
        messages.error(request, str(error))
        return redirect("console:openapi_upload", pk=pk)
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
        return redirect("console:version_detail", pk=pk)
    staging.discard_upload(token, user_id=actor_of(request).pk, version_id=version.pk)
    count = len(parsed.operations)
    messages.success(request, f"Imported {parsed.title or 'the document'}: {count} route(s).")
    return redirect("console:version_detail", pk=pk)


def _staged(request: HttpRequest, version: ApiVersion, token: str) -> ParsedOpenApi:
    text = staging.read_upload(token, user_id=actor_of(request).pk, version_id=version.pk)
    if text is None:
        raise Http404("this upload has expired; upload the document again")
    return parse_openapi(text)  # it parsed when staged; the same text parses again


def _diff_against(baseline: ApiVersion | None, parsed: ParsedOpenApi) -> list[str] | None:
    if baseline is None:
        return []
    name = f"{baseline.api.slug} {baseline.label} ({baseline.state})"
    return document_diff(
        baseline.openapi_document, parsed.document, old_name=name, new_name="uploaded"
    )


def _excerpts(text: str, problems: list[Problem]) -> list[dict[str, Any]]:
    """For each problem with a line: the numbered lines around it, the line itself marked."""
    lines = text.splitlines()
    excerpts = []
    for problem in problems[:50]:
        if not problem.line:
            continue
        start = max(problem.line - 1 - CONTEXT_LINES, 0)
        end = min(problem.line + CONTEXT_LINES, len(lines))
        rows = [(n + 1, lines[n][:300], n + 1 == problem.line) for n in range(start, end)]
        excerpts.append({"problem": problem, "rows": rows})
    return excerpts
