"""Catalogue pages: published APIs, their reference (Redoc, served locally) and how to call them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from apis.choices import AuthMode, SubscriptionStatus
from apis.models import Api, ApiVersion, Application, Route, Subscription
from apis.services import subscriptions
from apis.services.openapi import export_openapi, gateway_url
from apis.web import catalogue
from apis.web.access import developer
from apis.web.forms import SubscribeForm, add_service_errors
from portal.paging import paginate, query_without_page


def catalogue_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Open to visitors when MESHGATE_PORTAL["PUBLIC_CATALOGUE"], else behind the login."""
    protected = login_required(view)

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if settings.MESHGATE_PORTAL["PUBLIC_CATALOGUE"]:
            return view(request, *args, **kwargs)
        return protected(request, *args, **kwargs)

    return wrapped


@catalogue_page
@require_GET
def catalogue_list(request: HttpRequest) -> HttpResponse:
    """Every API with a published or deprecated version; searchable, paginated."""
    search = request.GET.get("q", "").strip()[:100]
    page = paginate(request, catalogue.visible_apis(search))
    context = {"page": page, "search": search, "query": query_without_page(request)}
    return render(request, "devportal/catalogue.html", context)


@catalogue_page
@require_GET
def api_detail(request: HttpRequest, slug: str) -> HttpResponse:
    """One API: versions with their gateway URL and example curl, plans, and the subscribe form."""
    api = get_object_or_404(catalogue.visible_apis(), slug=slug)
    form = _subscribe_form(request, api) if request.user.is_authenticated else None
    return _render_detail(request, api, form)


@login_required
@require_POST
def subscribe(request: HttpRequest, slug: str) -> HttpResponse:
    """Subscribe one of the caller's applications; approved at once or pending, as the plan says."""
    api = get_object_or_404(catalogue.visible_apis(), slug=slug)
    form = _subscribe_form(request, api, data=request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            subscription = subscriptions.subscribe(
                data["application"],
                actor=request.user,
                api_version=data["version"],
                plan=data["plan"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _subscribed_message(subscription))
            return redirect("devportal:app_detail", subscription.application_id)
    return _render_detail(request, api, form, status=400)


def _subscribe_form(request: HttpRequest, api: Api, data: QueryDict | None = None) -> SubscribeForm:
    return SubscribeForm(
        data,
        applications=Application.objects.filter(owner=developer(request)).order_by("name"),
        versions=catalogue.subscribable_versions(api),
        plans=catalogue.offered_plans(api),
    )


def _render_detail(
    request: HttpRequest, api: Api, form: SubscribeForm | None, status: int = 200
) -> HttpResponse:
    visible: list[ApiVersion] = api.visible  # type: ignore[attr-defined]  # prefetched to_attr
    paths = _example_paths(visible)
    versions = [_describe(version, paths.get(version.pk, "/")) for version in visible]
    context = {
        "api": api,
        "versions": versions,
        "plans": catalogue.offered_plans(api),
        "form": form,
    }
    return render(request, "devportal/api_detail.html", context, status=status)


def _subscribed_message(subscription: Subscription) -> str:
    target = f"{subscription.api_version.api.name} {subscription.api_version.label}"
    if subscription.status == SubscriptionStatus.PENDING:
        return f"Subscription to {target} requested; an API owner must approve it first."
    return f"Subscribed to {target} on the {subscription.plan.name} plan. Create a key to call it."


@catalogue_page
@require_GET
def api_reference(request: HttpRequest, slug: str, label: str) -> HttpResponse:
    """The rendered OpenAPI reference of one version (Redoc from drf-spectacular-sidecar)."""
    version = _visible_version(slug, label)
    return render(request, "devportal/reference.html", {"version": version, "api": version.api})


@catalogue_page
@require_GET
def api_document(request: HttpRequest, slug: str, label: str) -> JsonResponse:
    """The version's OpenAPI document, its `servers` pointing at the gateway."""
    version = _visible_version(slug, label, with_document=True)
    return JsonResponse(export_openapi(version), json_dumps_params={"indent": 1})


def _visible_version(slug: str, label: str, *, with_document: bool = False) -> ApiVersion:
    versions = catalogue.visible_versions().select_related("api")
    if with_document:
        versions = versions.defer(None).defer("openapi_source")
    return get_object_or_404(versions, api__slug=slug, label=label)


def _example_paths(versions: list[ApiVersion]) -> dict[int, str]:
    """A path per version for the example curl: its first GET route, else its first route."""
    first: dict[int, str] = {}
    first_get: dict[int, str] = {}
    routes = Route.objects.filter(version__in=versions, enabled=True).order_by(
        "path_template", "method"
    )
    for version_id, method, template in routes.values_list("version_id", "method", "path_template"):
        first.setdefault(version_id, template)
        if method == "GET":
            first_get.setdefault(version_id, template)
    return {**first, **first_get}


def _describe(version: ApiVersion, path: str) -> dict[str, object]:
    """The gateway URL of a version and example calls for the credentials it accepts."""
    url = gateway_url(version) + path
    token_url = settings.MESHGATE_OAUTH["ISSUER"].rstrip("/") + "/token/"
    examples = []
    if version.auth_mode in (AuthMode.KEY, AuthMode.KEY_OR_OAUTH2):
        examples.append(("With an API key", f'curl -H "X-API-Key: $MESHGATE_KEY" "{url}"'))
    if version.auth_mode in (AuthMode.OAUTH2, AuthMode.KEY_OR_OAUTH2):
        examples.append(
            (
                "With an OAuth2 client (client credentials)",
                f'curl -u "$CLIENT_ID:$CLIENT_SECRET" '
                f"-d grant_type=client_credentials {token_url}\n"
                f'curl -H "Authorization: Bearer $ACCESS_TOKEN" "{url}"',
            )
        )
    if version.auth_mode == AuthMode.PUBLIC:
        examples.append(("No credentials needed", f'curl "{url}"'))
    return {"version": version, "url": gateway_url(version), "examples": examples}
