"""Admin console: the catalogue (APIs, versions, lifecycle). Views stay thin over the services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from apis.choices import LIFECYCLE_TRANSITIONS
from apis.console.access import actor_of, admin_required
from apis.console.forms import ApiForm, DeprecateForm, RouteForm, VersionForm
from apis.console.forms_support import add_service_errors, posted
from apis.models import Api, ApiVersion, Plan, Route
from apis.services import catalogue
from portal.paging import paginate, query_without_page

LIFECYCLE_ACTIONS = {
    "publish": "Publish",
    "deprecate": "Deprecate",
    "retire": "Retire",
}


@admin_required
def api_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    apis = Api.objects.select_related("owner")
    if query:
        apis = apis.filter(
            Q(name__icontains=query) | Q(slug__icontains=query) | Q(description__icontains=query)
        )
    versions = ApiVersion.objects.only("id", "api_id", "label", "state").order_by("label")
    page = paginate(request, apis.order_by("slug").prefetch_related(Prefetch("versions", versions)))
    context = {"page": page, "q": query, "query": query_without_page(request)}
    return render(request, "console/api_list.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def api_create(request: HttpRequest) -> HttpResponse:
    form = ApiForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            api = catalogue.create_api(actor=actor_of(request), **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"API {api.name} created.")
            return redirect("console:api_detail", slug=api.slug)
    return render(request, "console/form.html", {"form": form, "title": "New API"})


@admin_required
@require_http_methods(["GET", "POST"])
def api_edit(request: HttpRequest, slug: str) -> HttpResponse:
    api = get_object_or_404(Api, slug=slug)
    initial = {name: getattr(api, name) for name in ApiForm.base_fields}
    form = ApiForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            catalogue.update_api(api, actor=actor_of(request), **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"API {api.name} saved.")
            return redirect("console:api_detail", slug=api.slug)
    return render(request, "console/form.html", {"form": form, "title": f"Edit {api.name}"})


@admin_required
def api_detail(request: HttpRequest, slug: str) -> HttpResponse:
    api = get_object_or_404(Api.objects.select_related("owner"), slug=slug)
    versions = api.versions.select_related("upstream_service").annotate(route_count=Count("routes"))
    plans = Plan.objects.filter(api=api).annotate(
        open_subscriptions=Count("subscriptions", filter=Q(subscriptions__status="approved"))
    )
    context = {"api": api, "versions": versions, "plans": plans}
    return render(request, "console/api_detail.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def version_create(request: HttpRequest, slug: str) -> HttpResponse:
    api = get_object_or_404(Api, slug=slug)
    initial = {"base_path": f"/{api.slug}/v1", "label": "v1"}
    form = VersionForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        options = dict(form.cleaned_data)
        label, base_path = options.pop("label"), options.pop("base_path")
        try:
            version = catalogue.create_api_version(
                api, label=label, base_path=base_path, actor=actor_of(request), **options
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Version {version.label} created as a draft.")
            return redirect("console:version_detail", pk=version.pk)
    title = f"New version of {api.name}"
    return render(request, "console/form.html", {"form": form, "title": title, "api": api})


@admin_required
@require_http_methods(["GET", "POST"])
def version_edit(request: HttpRequest, pk: int) -> HttpResponse:
    version = get_object_or_404(ApiVersion.objects.select_related("api"), pk=pk)
    initial = {name: getattr(version, name) for name in VersionForm.base_fields}
    form = VersionForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            catalogue.update_api_version(version, actor=actor_of(request), **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Version {version.label} saved.")
            return redirect("console:version_detail", pk=version.pk)
    title = f"Settings of {version.api.name} {version.label}"
    return render(request, "console/form.html", {"form": form, "title": title, "api": version.api})


@admin_required
def version_detail(request: HttpRequest, pk: int) -> HttpResponse:
    version = get_object_or_404(ApiVersion.objects.select_related("api", "upstream_service"), pk=pk)
    routes = paginate(request, version.routes.order_by("path_template", "method"), per_page=50)
    context = {
        "version": version,
        "api": version.api,
        "routes": routes,
        "actions": _actions(version),
    }
    return render(request, "console/version_detail.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def route_edit(request: HttpRequest, pk: int) -> HttpResponse:
    route = get_object_or_404(Route.objects.select_related("version__api"), pk=pk)
    initial = {name: getattr(route, name) for name in RouteForm.base_fields}
    initial["scopes"] = " ".join(route.scopes)
    form = RouteForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            catalogue.update_route(route, actor=actor_of(request), **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Route {route} saved.")
            return redirect("console:version_detail", pk=route.version_id)
    title = f"{route.method} {route.path_template} of {route.version}"
    context = {"form": form, "title": title, "api": route.version.api}
    return render(request, "console/form.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def version_lifecycle(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """A confirmation page (GET) and the change itself (POST): publish, deprecate, retire."""
    version = get_object_or_404(ApiVersion.objects.select_related("api"), pk=pk)
    if action not in dict(_actions(version)):
        state = version.get_state_display().lower()
        done = {"publish": "published", "deprecate": "deprecated", "retire": "retired"}[action]
        messages.error(request, f"A {state} version cannot be {done}; the page was out of date.")
        return redirect("console:version_detail", pk=pk)
    form = DeprecateForm(posted(request)) if action == "deprecate" else None
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            _apply_lifecycle(request, version, action, form)
        except ValidationError as error:
            messages.error(request, "; ".join(_messages_of(error)))
        else:
            messages.success(request, f"{version.api.name} {version.label} is now {version.state}.")
        return redirect("console:version_detail", pk=pk)
    context = {
        "version": version,
        "action": action,
        "verb": LIFECYCLE_ACTIONS[action],
        "form": form,
    }
    return render(request, "console/confirm_lifecycle.html", context)


def _apply_lifecycle(
    request: HttpRequest, version: ApiVersion, action: str, form: DeprecateForm | None
) -> None:
    if action == "publish":
        catalogue.publish_version(version, actor=actor_of(request))
    elif action == "deprecate":
        assert form is not None
        sunset = form.cleaned_data["sunset_at"]
        catalogue.deprecate_version(version, sunset_at=sunset, actor=actor_of(request))
    else:
        catalogue.retire_version(version, actor=actor_of(request))


def _actions(version: ApiVersion) -> list[tuple[str, str]]:
    targets = LIFECYCLE_TRANSITIONS[version.state]
    names = {"published": "publish", "deprecated": "deprecate", "retired": "retire"}
    return [(names[target], LIFECYCLE_ACTIONS[names[target]]) for target in targets]


def _messages_of(error: ValidationError) -> list[Any]:
    if hasattr(error, "error_dict"):
        return [f"{field}: {msg}" for field, msgs in error.message_dict.items() for msg in msgs]
    return list(error.messages)
