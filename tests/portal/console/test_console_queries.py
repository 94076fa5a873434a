"""No N+1: the main pages make a fixed number of queries with 1,000 APIs and 10,000 applications."""

from __future__ import annotations

from typing import Any

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apis.models import Api, ApiVersion, Application, Plan, Subscription
from portal.choices import Role
from registry.models import HealthMinute, Instance, Service

pytestmark = pytest.mark.django_db

APIS = 1_000
APPLICATIONS = 10_000
# Session + user, a count and the page, a prefetch or two, and headroom for the base template.
MAX_QUERIES = 8


@pytest.fixture
def big_catalogue(alice: Any, django_user_model: Any) -> dict[str, Any]:
    service = Service.objects.create(name="Up", slug="up", owner=alice)
    apis = Api.objects.bulk_create(
        Api(name=f"API {n:04d}", slug=f"api-{n:04d}", owner=alice) for n in range(APIS)
    )
    versions = ApiVersion.objects.bulk_create(
        ApiVersion(
            api=api,
            label="v1",
            base_path=f"/{api.slug}/v1",
            state="published",
            upstream_service=service,
        )
        for api in apis
    )
    plans = Plan.objects.bulk_create(
        Plan(api=api, name="Gated", slug="gated", approval_required=True) for api in apis
    )
    owners = django_user_model.objects.bulk_create(
        django_user_model(username=f"dev{n}", email=f"dev{n}@example.test", role=Role.DEVELOPER)
        for n in range(20)
    )
    apps = Application.objects.bulk_create(
        Application(owner=owners[n % 20], name=f"app {n}") for n in range(APPLICATIONS)
    )
    Subscription.objects.bulk_create(
        Subscription(application=app, api_version=versions[n % APIS], plan=plans[n % APIS])
        for n, app in enumerate(apps)
    )
    kind = ContentType.objects.get_for_model(Api)
    LogEntry.objects.bulk_create(
        LogEntry(
            content_type=kind,
            object_pk=str(api.pk),
            object_repr=api.name,
            action=LogEntry.Action.CREATE,
            actor=alice,
            changes={"name": ["None", api.name]},
        )
        for api in apis
    )
    return {"service": service, "versions": versions}


@pytest.fixture
def big_registry(oscar: Any) -> None:
    services = Service.objects.bulk_create(
        Service(name=f"Svc {n:03d}", slug=f"svc-{n:03d}", owner=oscar) for n in range(60)
    )
    instances = Instance.objects.bulk_create(
        Instance(service=service, host=f"10.1.{s}.{n}", port=8000 + n)
        for s, service in enumerate(services)
        for n in range(10)
    )
    minute = timezone.now().replace(second=0, microsecond=0)
    HealthMinute.objects.bulk_create(
        HealthMinute(instance=instance, minute=minute, checks=6, successes=5, p95_ms=3.0)
        for instance in instances
    )


@pytest.mark.slow
def test_console_pages_make_a_fixed_number_of_queries(
    as_alice: Client, big_catalogue: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    version = big_catalogue["versions"][0]
    pages = [
        (reverse("console:api_list"), {}),
        (reverse("console:api_list"), {"q": "API 09", "page": 2}),
        (reverse("console:api_detail", args=["api-0000"]), {}),
        (reverse("console:version_detail", args=[version.pk]), {}),
        (reverse("console:approvals"), {}),
        (reverse("console:approvals"), {"page": 40}),
        (reverse("console:audit"), {}),
        (reverse("console:audit"), {"actor": "alice", "object_type": "apis.api"}),
        (reverse("console:revisions"), {}),
    ]
    for url, params in pages:
        with django_assert_max_num_queries(MAX_QUERIES):
            response = as_alice.get(url, params)
        assert response.status_code == 200, url
    approvals = as_alice.get(reverse("console:approvals"))
    assert approvals.context["page"].paginator.count == APPLICATIONS
    assert "25 in all" not in approvals.text and "10000 in all" in approvals.text


@pytest.mark.slow
def test_operator_pages_make_a_fixed_number_of_queries(
    as_oscar: Client, big_registry: None, django_assert_max_num_queries: Any
) -> None:
    for url in (
        reverse("operator:services"),
        reverse("operator:services") + "?page=3",
        reverse("operator:services") + "?show=problems",
        reverse("operator:service_detail", args=["svc-001"]),
        reverse("operator:gateways"),
    ):
        with django_assert_max_num_queries(MAX_QUERIES):
            response = as_oscar.get(url)
        assert response.status_code == 200, url
    page = as_oscar.get(reverse("operator:services"))
    assert len(page.context["cards"]) == 20 and len(page.context["cards"][0].rows) == 10
