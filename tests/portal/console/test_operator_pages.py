"""Operator dashboards: instance states (database + live Redis), traffic, ejections, gateways."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import orjson
import pytest
import redis as redis_lib
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apis.models import ApiVersion
from portal.redis import redis_key
from registry.models import HealthMinute, Instance, Service
from registry.services.instances import register_instance
from registry.services.services import create_service
from registry.web.traffic import minute_keys

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(oscar: Any) -> Service:
    return create_service(actor=oscar, name="Orders", slug="orders")


@pytest.fixture
def pair(oscar: Any, orders: Service) -> tuple[Instance, Instance]:
    a = register_instance(orders, actor=oscar, host="10.0.0.1", port=8001)
    b = register_instance(orders, actor=oscar, host="10.0.0.2", port=8002)
    return a, b


def _state(
    client: redis_lib.Redis, instance: Instance, state: str, reason: str, since: float
) -> None:
    entry = {
        "instance": instance.pk,
        "upstream": "orders",
        "state": state,
        "reason": reason,
        "since": since,
        "seq": 1,
    }
    client.hset(redis_key("health", "states"), str(instance.pk), orjson.dumps(entry))


def test_the_dashboard_lists_services_and_instances_with_state(
    as_oscar: Client, pair: tuple[Instance, Instance]
) -> None:
    page = as_oscar.get(reverse("operator:services"))
    assert page.status_code == 200
    assert "Orders" in page.text and "10.0.0.1:8001" in page.text and "10.0.0.2:8002" in page.text
    rows = page.context["cards"][0].rows
    assert [row.state for row in rows] == ["unknown", "unknown"]
    assert 'data-state="unknown"' in page.text


def test_a_newer_live_verdict_in_redis_wins_over_the_database(
    as_oscar: Client, pair: tuple[Instance, Instance], redis_client: redis_lib.Redis
) -> None:
    a, b = pair
    _state(redis_client, a, "unhealthy", "3 consecutive failures: connect refused", time.time() + 1)
    _state(redis_client, b, "healthy", "old news", time.time() - 3600)
    page = as_oscar.get(reverse("operator:services"))
    rows = {row.instance.pk: row for row in page.context["cards"][0].rows}
    assert (rows[a.pk].state, rows[a.pk].reason) == (
        "unhealthy",
        "3 consecutive failures: connect refused",
    )
    assert rows[b.pk].state == "unknown"  # the database is newer than that hash entry
    assert "connect refused" in page.text


def test_htmx_polls_get_only_the_panel(as_oscar: Client, pair: Any) -> None:
    full = as_oscar.get(reverse("operator:services"))
    assert 'hx-trigger="every 3s"' in full.text and "<html" in full.text
    panel = as_oscar.get(reverse("operator:services"), HTTP_HX_REQUEST="true")
    assert panel.status_code == 200
    assert "<html" not in panel.text and 'id="services-panel"' in panel.text


def test_drain_and_undrain_buttons_change_the_instance(
    as_oscar: Client, pair: tuple[Instance, Instance]
) -> None:
    a, _ = pair
    url = reverse("operator:instance_action", args=[a.pk, "drain"])
    response = as_oscar.post(url, {"next": reverse("operator:services")})
    assert response["Location"] == reverse("operator:services")
    a.refresh_from_db()
    assert a.draining and a.state_reason == "drained by oscar"
    page = as_oscar.get(reverse("operator:services"))
    assert "Undrain" in page.text
    as_oscar.post(reverse("operator:instance_action", args=[a.pk, "undrain"]))
    a.refresh_from_db()
    assert not a.draining


def test_the_back_link_never_leaves_the_site(as_oscar: Client, pair: Any) -> None:
    a, _ = pair
    url = reverse("operator:instance_action", args=[a.pk, "drain"])
    response = as_oscar.post(url, {"next": "https://evil.example/"})
    assert response["Location"] == "/operator/"


def test_check_now_is_audited(as_oscar: Client, pair: Any) -> None:
    from auditlog.models import LogEntry

    a, _ = pair
    response = as_oscar.post(reverse("operator:instance_action", args=[a.pk, "check"]), follow=True)
    assert "check requested" in response.text
    assert LogEntry.objects.filter(object_pk=str(a.pk), actor__username="oscar").exists()


def test_developers_cannot_drain(as_bob: Client, pair: Any) -> None:
    a, _ = pair
    assert as_bob.post(reverse("operator:instance_action", args=[a.pk, "drain"])).status_code == 403
    a.refresh_from_db()
    assert not a.draining


def test_traffic_per_api_comes_from_the_usage_aggregates(
    alice: Any, as_oscar: Client, petstore: ApiVersion, redis_client: redis_lib.Redis, pair: Any
) -> None:
    minute = minute_keys(time.time())[0]
    key = redis_key("usage", "m", minute)
    v = petstore.pk
    redis_client.hset(
        key,
        mapping={
            f"r|{v}|1|5|200": 970,
            f"r|{v}|1|5|503": 20,
            f"r|{v}|1|5|429": 10,
            f"l|{v}|25": 900,
            f"l|{v}|100": 95,
            f"l|{v}|1000": 5,
        },
    )
    page = as_oscar.get(reverse("operator:services"))
    row = page.context["traffic"].rows[0]
    assert (row.api_slug, row.label, row.requests, row.errors, row.throttled) == (
        "petstore",
        "v1",
        1000,
        20,
        10,
    )
    assert row.error_percent == pytest.approx(2.0)
    assert row.p99_ms == "100"  # 99% of requests answered within the 100 ms bucket
    assert row.per_second > 0
    assert "≤ 100 ms" in page.text and "2.0%" in page.text


def test_ejections_flapping_and_stale_checks_are_flagged(
    as_oscar: Client, pair: tuple[Instance, Instance], redis_client: redis_lib.Redis
) -> None:
    a, b = pair
    now = time.time()
    report = {
        "instance": a.pk,
        "upstream": "orders",
        "gateway": "gw1:8080/42",
        "reason": "5 consecutive connect errors",
        "ejected_at": now - 5,
        "until": now + 25,
        "count": 1,
    }
    redis_client.hset(redis_key("health", "ejections"), f"{a.pk}|gw1:8080/42", orjson.dumps(report))
    start = timezone.now().replace(second=0, microsecond=0)
    HealthMinute.objects.bulk_create(
        HealthMinute(instance=b, minute=start - timedelta(minutes=n), checks=6, successes=3)
        for n in range(4)
    )
    Instance.objects.filter(pk=a.pk).update(created_at=timezone.now() - timedelta(hours=1))
    page = as_oscar.get(reverse("operator:services"))
    rows = {row.instance.pk: row for row in page.context["cards"][0].rows}
    assert [e.gateway for e in rows[a.pk].ejections] == ["gw1:8080/42"]
    assert rows[b.pk].flapping and not rows[a.pk].flapping
    assert rows[a.pk].stale and not rows[b.pk].stale
    assert (
        "ejected by gw1:8080/42" in page.text and "flapping" in page.text and ">stale<" in page.text
    )


def test_the_service_page_carries_the_check_history_for_the_chart(
    as_oscar: Client, pair: tuple[Instance, Instance]
) -> None:
    a, _ = pair
    minute = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=2)
    HealthMinute.objects.create(
        instance=a, minute=minute, checks=6, successes=5, p50_ms=3, p95_ms=12.5, p99_ms=20
    )
    page = as_oscar.get(reverse("operator:service_detail", args=["orders"]))
    series = page.context["history"][str(a.pk)]
    assert series["ok"] == [83.3] and series["p95"] == [12.5]
    assert 'id="history-data"' in page.text and "vendor/chart.umd.min.js" in page.text
    assert f'id="chart-{a.pk}"' in page.text


def test_gateways_show_the_revision_each_serves(
    as_oscar: Client, redis_client: redis_lib.Redis
) -> None:
    now = time.time()
    redis_client.set(redis_key("config", "current"), 42)
    for pid, revision, beat in ((101, 42, now), (102, 41, now), (103, 42, now - 60)):
        report = {
            "gateway": "edge:8080",
            "pid": pid,
            "worker": pid - 101,
            "workers": 3,
            "listen": "127.0.0.1:8080",
            "admin": "127.0.0.1:9080",
            "revision": revision,
            "checksum": "sha256:x",
            "applied_at": now - 10,
            "started_at": now - 100,
            "heartbeat_at": beat,
            "last_error": "revision 43 refused: bad" if pid == 102 else None,
            "errors": 1 if pid == 102 else 0,
            "version": "0.1.0",
        }
        redis_client.hset(redis_key("gateways"), f"edge:8080/{pid}", orjson.dumps(report))
    page = as_oscar.get(reverse("operator:gateways"))
    assert page.status_code == 200
    summary = page.context["summary"]
    assert (summary.on_current, summary.fresh, summary.stale) == (1, 2, 1)
    assert "1/2</strong> gateway workers on revision 42" in page.text
    assert "revision 43 refused: bad" in page.text and "behind" in page.text


def test_a_redis_outage_shows_a_warning_not_an_error(
    settings: Any, as_oscar: Client, pair: Any
) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:9/0"
    page = as_oscar.get(reverse("operator:services"))
    assert page.status_code == 200
    assert 'id="store-down"' in page.text and "10.0.0.1:8001" in page.text
    assert as_oscar.get(reverse("operator:gateways")).status_code == 200


def test_a_silent_health_checker_is_a_stale_data_warning(
    as_oscar: Client, pair: Any, redis_client: redis_lib.Redis
) -> None:
    first = as_oscar.get(reverse("operator:services"))
    assert 'id="no-checker"' in first.text
    status = {"shard": 0, "worker": "w1@host", "at": time.time() - 60, "planned": 2}
    redis_client.hset(redis_key("health", "checkers"), "0", orjson.dumps(status))
    silent = as_oscar.get(reverse("operator:services"))
    assert 'id="no-checker"' not in silent.text
    assert "shard 0 last ticked 60 s ago on w1@host" in silent.text
    status["at"] = time.time()
    redis_client.hset(redis_key("health", "checkers"), "0", orjson.dumps(status))
    assert "last ticked" not in as_oscar.get(reverse("operator:services")).text


def test_only_problems_hides_healthy_instances_and_services(
    oscar: Any, as_oscar: Client, pair: tuple[Instance, Instance]
) -> None:
    a, b = pair
    calm = create_service(actor=oscar, name="Calm", slug="calm")
    quiet = register_instance(calm, actor=oscar, host="10.0.9.9", port=80)
    Instance.objects.filter(pk__in=[a.pk, quiet.pk]).update(health="healthy")
    page = as_oscar.get(reverse("operator:services"), {"show": "problems"})
    cards = page.context["cards"]
    assert [card.service.slug for card in cards] == ["orders"]
    assert [row.instance.pk for row in cards[0].rows] == [b.pk]
    Instance.objects.filter(pk=b.pk).update(health="healthy")
    none = as_oscar.get(reverse("operator:services"), {"show": "problems"})
    assert 'id="no-services"' in none.text and "No instance is unhealthy" in none.text
