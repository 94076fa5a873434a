"""Operator dashboards: services and instances live, traffic per API, gateways.

Pages poll themselves with htmx (`hx-trigger="every Ns"`); an htmx request gets
only the panel, a plain request the whole page, so everything works without
JavaScript too (reload to refresh).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from apis.console.access import actor_of, operator_required
from portal.paging import paginate
from registry.choices import Health
from registry.models import Instance, Service
from registry.services import instances
from registry.web import sources, traffic
from registry.web.board import build_cards, check_history

SERVICES_PER_PAGE = 20
POLL_SECONDS = 3


def _page_or_panel(
    request: HttpRequest, page: str, panel: str, context: dict[str, Any]
) -> HttpResponse:
    context["poll_seconds"] = POLL_SECONDS
    return render(request, panel if getattr(request, "htmx", False) else page, context)


@operator_required
def services(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    rows = Instance.objects.order_by("host", "port")
    listed = Service.objects.order_by("slug")
    problems = request.GET.get("show") == "problems"
    if problems:  # with thousands of instances, the ones that need a look
        trouble = ~Q(health=Health.HEALTHY) | Q(draining=True)
        rows = rows.filter(trouble)
        listed = listed.filter(pk__in=Instance.objects.filter(trouble).values("service_id"))
    page = paginate(
        request,
        listed.prefetch_related(Prefetch("instances", rows)),
        per_page=SERVICES_PER_PAGE,
    )
    live = sources.read_live_health(now=now.timestamp())
    context = {
        "page": page,
        "cards": build_cards(list(page.object_list), live, now=now),
        "live": live,
        "traffic": traffic.read_traffic(now=now.timestamp()),
        "gateways": sources.gateway_summary(now=now.timestamp()),
        "now": now,
        "problems": problems,
    }
    return _page_or_panel(
        request, "operator/services.html", "operator/_services_panel.html", context
    )


@operator_required
def service_detail(request: HttpRequest, slug: str) -> HttpResponse:
    now = timezone.now()
    rows = Instance.objects.order_by("host", "port")
    service = get_object_or_404(
        Service.objects.prefetch_related(Prefetch("instances", rows)), slug=slug
    )
    live = sources.read_live_health(now=now.timestamp())
    context = {
        "service": service,
        "card": build_cards([service], live, now=now)[0],
        "live": live,
        "now": now,
        "history": None if getattr(request, "htmx", False) else check_history(service, now=now),
    }
    return _page_or_panel(
        request, "operator/service_detail.html", "operator/_instances_panel.html", context
    )


@operator_required
def gateways(request: HttpRequest) -> HttpResponse:
    now = timezone.now().timestamp()
    context = {
        "workers": [
            {
                "w": w,
                "applied_ago": _ago(now, w.applied_at),
                "heartbeat_ago": _ago(now, w.heartbeat_at),
            }
            for w in sources.list_gateways(now=now)
        ],
        "summary": sources.gateway_summary(now=now),
    }
    return _page_or_panel(
        request, "operator/gateways.html", "operator/_gateways_panel.html", context
    )


@operator_required
@require_POST
def instance_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Drain, undrain or check now; back to the page the button was on."""
    instance = get_object_or_404(Instance.objects.select_related("service"), pk=pk)
    try:
        if action == "drain":
            instances.drain_instance(instance, actor=actor_of(request))
        elif action == "undrain":
            instances.undrain_instance(instance, actor=actor_of(request))
        elif action == "check":
            sources.request_check(instance, actor=actor_of(request))
        else:
            return redirect("operator:services")
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    else:
        done = {"drain": "draining", "undrain": "undrained", "check": "check requested"}[action]
        messages.success(request, f"{instance} ({instance.service.slug}): {done}.")
    return redirect(_back(request))


def _ago(now: float, then: float | None) -> float | None:
    return None if not then else max(now - then, 0.0)


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    allowed = {request.get_host()}
    if target and url_has_allowed_host_and_scheme(
        target, allowed, require_https=request.is_secure()
    ):
        return target
    return reverse("operator:services")
