"""Plans of an API, and the subscription requests waiting for an admin's decision."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apis.choices import SubscriptionStatus
from apis.console.access import actor_of, admin_required
from apis.console.forms import PlanForm
from apis.console.forms_support import add_service_errors, posted
from apis.models import Api, Plan, Subscription
from apis.services import plans, subscriptions
from portal.paging import paginate, query_without_page

PAST = {"approve": "approved", "reject": "rejected", "revoke": "revoked"}
DECISIONS = {
    "approve": subscriptions.approve_subscription,
    "reject": subscriptions.reject_subscription,
    "revoke": subscriptions.revoke_subscription,
}


@admin_required
@require_http_methods(["GET", "POST"])
def plan_create(request: HttpRequest, slug: str) -> HttpResponse:
    api = get_object_or_404(Api, slug=slug)
    form = PlanForm(posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            plan = plans.create_plan(api, actor=actor_of(request), **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Plan {plan.name} created.")
            return redirect("console:api_detail", slug=api.slug)
    context = {"form": form, "title": f"New plan for {api.name}", "api": api}
    return render(request, "console/form.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(Plan.objects.select_related("api"), pk=pk)
    initial = {name: getattr(plan, name) for name in PlanForm.base_fields}
    form = PlanForm(posted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            plans.update_plan(plan, actor=actor_of(request), **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Plan {plan.name} saved.")
            return redirect("console:api_detail", slug=plan.api.slug)
    title = f"Plan {plan.name} of {plan.api.name}"
    return render(request, "console/form.html", {"form": form, "title": title, "api": plan.api})


@admin_required
def approvals(request: HttpRequest) -> HttpResponse:
    """Subscriptions by status, pending first by default, oldest request first."""
    status = request.GET.get("status") or SubscriptionStatus.PENDING
    if status not in SubscriptionStatus.values:
        status = SubscriptionStatus.PENDING
    rows = Subscription.objects.filter(status=status).select_related(
        "application__owner", "api_version__api", "plan", "decided_by"
    )
    order = "created_at" if status == SubscriptionStatus.PENDING else "-decided_at"
    context = {
        "page": paginate(request, rows.order_by(order, "pk")),
        "status": status,
        "statuses": SubscriptionStatus.choices,
        "query": query_without_page(request),
    }
    return render(request, "console/approvals.html", context)


@admin_required
@require_POST
def decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    subscription = get_object_or_404(
        Subscription.objects.select_related("application", "api_version__api"), pk=pk
    )
    service = DECISIONS.get(decision)
    if service is None:
        return redirect("console:approvals")
    try:
        service(subscription, actor=actor_of(request))
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    else:
        what = f"{subscription.application.name} → {subscription.api_version}"
        messages.success(request, f"Subscription {what}: {PAST[decision]}.")
    back = request.POST.get("status")
    query = f"?status={back}" if back in SubscriptionStatus.values else ""
    return redirect(reverse("console:approvals") + query)
