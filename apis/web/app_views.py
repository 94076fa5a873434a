"""Applications of the logged-in developer: list, create, detail, edit, delete, usage."""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apis.choices import SubscriptionStatus
from apis.models import ApiVersion, Application, OAuthClient, Subscription
from apis.services import applications, subscriptions
from apis.services.usage import application_usage
from apis.web.access import developer, own_application, own_subscription
from apis.web.forms import (
    ApplicationForm,
    KeyForm,
    OAuthClientForm,
    RotateKeyForm,
    add_service_errors,
)
from portal.paging import paginate

OPEN = (SubscriptionStatus.PENDING, SubscriptionStatus.APPROVED)


@login_required
@require_GET
def app_list(request: HttpRequest) -> HttpResponse:
    apps = (
        Application.objects.filter(owner=developer(request))
        .annotate(
            open_subscriptions=Count(
                "subscriptions", filter=Q(subscriptions__status__in=OPEN), distinct=True
            ),
            live_keys=Count("api_keys", filter=Q(api_keys__revoked_at__isnull=True), distinct=True),
        )
        .order_by("name")
    )
    return render(request, "devportal/app_list.html", {"page": paginate(request, apps)})


@login_required
@require_http_methods(["GET", "POST"])
def app_create(request: HttpRequest) -> HttpResponse:
    form = ApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            app = applications.create_application(
                request.user, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, f"Application “{app.name}” created. Subscribe it to an API next."
            )
            return redirect("devportal:app_detail", app.pk)
    return render(request, "devportal/app_form.html", {"form": form, "app": None})


@login_required
@require_GET
def app_detail(request: HttpRequest, app_id: int) -> HttpResponse:
    """Everything of one application on one page: subscriptions, keys, OAuth2 clients, usage."""
    app = own_application(request, app_id)
    subs = (
        Subscription.objects.filter(application=app)
        .select_related("api_version__api", "plan")
        .defer("api_version__openapi_source", "api_version__openapi_document")
    )
    context = {
        "app": app,
        "subscriptions": subs,
        "keys": app.api_keys.order_by("-created_at"),
        "clients": OAuthClient.objects.filter(application=app).select_related("client"),
        "usage": application_usage(app.pk, days=7),
        "days": 7,
        "key_form": KeyForm(),
        "rotate_form": RotateKeyForm(),
        "client_form": OAuthClientForm(),
    }
    return render(request, "devportal/app_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def app_edit(request: HttpRequest, app_id: int) -> HttpResponse:
    app = own_application(request, app_id)
    form = ApplicationForm(
        request.POST or None, initial={"name": app.name, "description": app.description}
    )
    if request.method == "POST" and form.is_valid():
        try:
            applications.update_application(app, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Application saved.")
            return redirect("devportal:app_detail", app.pk)
    return render(request, "devportal/app_form.html", {"form": form, "app": app})


@login_required
@require_http_methods(["GET", "POST"])
def app_delete(request: HttpRequest, app_id: int) -> HttpResponse:
    """GET asks for confirmation (works without JavaScript); POST deletes."""
    app = own_application(request, app_id)
    if request.method == "POST":
        name = app.name
        applications.delete_application(app, actor=request.user)
        messages.success(request, f"Application “{name}” deleted with its keys and clients.")
        return redirect("devportal:app_list")
    return render(request, "devportal/app_delete.html", {"app": app})


@login_required
@require_GET
def app_usage(request: HttpRequest, app_id: int) -> HttpResponse:
    """Requests, errors and 429s per day, from the gateways' aggregates."""
    app = own_application(request, app_id)
    days = {"7": 7, "30": 30}.get(request.GET.get("days", ""), 14)
    usage = application_usage(app.pk, days=days)
    if request.htmx:  # type: ignore[attr-defined]  # the live-refreshing table of the app page
        return render(
            request, "devportal/_usage_table.html", {"app": app, "usage": usage, "days": days}
        )
    names = _version_names(usage.by_version)
    rows = [
        (names.get(version_id, f"version {version_id}"), counts)
        for version_id, counts in sorted(usage.by_version.items())
    ]
    context = {"app": app, "usage": usage, "days": days, "version_rows": rows}
    return render(request, "devportal/app_usage.html", context)


@login_required
@require_POST
def subscription_cancel(request: HttpRequest, app_id: int, subscription_id: int) -> HttpResponse:
    subscription = own_subscription(request, app_id, subscription_id)
    try:
        subscriptions.revoke_subscription(subscription, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Subscription cancelled.")
    return redirect("devportal:app_detail", app_id)


def _version_names(by_version: Mapping[int, object]) -> dict[int, str]:
    rows = ApiVersion.objects.filter(pk__in=list(by_version)).values_list(
        "pk", "api__name", "label"
    )
    return {pk: f"{name} {label}" for pk, name, label in rows}
