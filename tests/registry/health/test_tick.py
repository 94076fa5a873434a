"""A tick end to end inside one process: real Redis, real database, real upstream sockets."""

from __future__ import annotations

import time
from collections.abc import Callable

import orjson
import pytest
import redis as redis_lib

from portal.local_redis import free_port
from portal.redis import redis_key
from registry.health.lease import lease_key
from registry.health.propagate import read_states
from registry.health.runner import TickReport, run_tick
from registry.models import Instance
from registry.services import instances as instance_services
from registry.services.health import request_check
from tests.registry.health.upstream import Upstream

pytestmark = pytest.mark.django_db


class Clock:
    """Beat's one tick per second, without waiting for the wall clock between ticks."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


CLOCK = Clock()


def tick(client: redis_lib.Redis) -> TickReport:
    CLOCK.now = max(CLOCK.now + 1.0, time.time())
    report = run_tick(0, client=client, clock=CLOCK, wait=True)
    assert report.held and not report.errors, report
    return report


def tick_until(client: redis_lib.Redis, done: Callable[[], bool], ticks: int = 12) -> int:
    for n in range(1, ticks + 1):
        tick(client)
        if done():
            return n
    raise AssertionError(f"not done after {ticks} ticks")


def health_of(instance: Instance) -> str:
    instance.refresh_from_db()
    return instance.health


def test_a_new_instance_becomes_healthy_after_two_passes_and_gateways_hear_it(
    redis_client: redis_lib.Redis, upstream: Upstream, make_service, make_instance
) -> None:
    service = make_service()
    instance = make_instance(service, upstream.port)
    updates = redis_client.pubsub()
    updates.subscribe(redis_key("health", "updates"))

    first = tick(redis_client)
    instance.refresh_from_db()
    assert first.checked == 1
    assert (instance.health, instance.check_streak, instance.last_check_ok) == ("unknown", 1, True)
    assert instance.last_check_ms is not None and instance.last_check_at is not None

    tick_until(redis_client, lambda: health_of(instance) == "healthy")
    assert instance.state_reason == "2 consecutive successful checks"
    state = read_states(redis_client)[instance.pk]
    assert state["state"] == "healthy" and state["upstream"] == service.slug
    assert state["since"] == pytest.approx(instance.state_changed_at.timestamp(), abs=1e-5)
    messages = [
        m for m in iter(lambda: updates.get_message(timeout=1), None) if m["type"] == "message"
    ]
    assert [orjson.loads(m["data"]) for m in messages] == [state]


def test_a_killed_server_turns_unhealthy_after_three_failures_then_recovers(
    redis_client: redis_lib.Redis, upstream: Upstream, make_service, make_instance
) -> None:
    instance = make_instance(make_service(), upstream.port)
    tick_until(redis_client, lambda: health_of(instance) == "healthy")
    upstream.stop()
    failures = tick_until(redis_client, lambda: health_of(instance) == "unhealthy")
    assert failures == 3
    assert instance.state_reason == "3 consecutive failures: connect refused"
    assert read_states(redis_client)[instance.pk]["state"] == "unhealthy"
    upstream.start()
    assert tick_until(redis_client, lambda: health_of(instance) == "healthy") == 2


def test_seq_grows_with_every_update(
    redis_client: redis_lib.Redis, upstream: Upstream, make_service, make_instance
) -> None:
    instance = make_instance(make_service(), upstream.port)
    tick_until(redis_client, lambda: health_of(instance) == "healthy")
    first = read_states(redis_client)[instance.pk]["seq"]
    upstream.mode = "fail"
    tick_until(redis_client, lambda: health_of(instance) == "unhealthy")
    assert read_states(redis_client)[instance.pk]["seq"] > first
    assert int(redis_client.get(redis_key("health", "seq"))) >= 2


def test_bad_targets_are_recorded_with_their_reasons_and_nothing_crashes(
    redis_client: redis_lib.Redis,
    upstream_factory: Callable[..., Upstream],
    make_service,
    make_instance,
) -> None:
    service = make_service(check_timeout_seconds=0.3)
    tls = upstream_factory(tls=True)
    hang = upstream_factory(mode="hang")
    refused = make_instance(service, free_port())
    dns = make_instance(service, 80, host="no-such-host.invalid")
    bad_tls = make_instance(service, tls.port, scheme="https")
    silent = make_instance(service, hang.port)
    report = tick(redis_client)
    assert report.checked == 4
    reasons = dict(Instance.objects.values_list("pk", "last_check_reason"))
    assert reasons[refused.pk] == "connect refused"
    assert reasons[dns.pk] == "DNS: name does not resolve"
    assert reasons[bad_tls.pk].startswith("TLS: ")
    assert reasons[silent.pk] == "timeout after 0.3s"
    assert not Instance.objects.filter(last_check_ok=True).exists()


def test_a_drained_instance_keeps_draining_while_its_health_changes(
    redis_client: redis_lib.Redis,
    upstream: Upstream,
    make_service,
    make_instance,
    oscar,
    django_capture_on_commit_callbacks,
) -> None:
    instance = make_instance(make_service(), upstream.port)
    tick_until(redis_client, lambda: health_of(instance) == "healthy")
    with django_capture_on_commit_callbacks(execute=True):
        instance_services.drain_instance(instance, actor=oscar)
    assert read_states(redis_client)[instance.pk]["state"] == "draining"
    upstream.stop()
    tick_until(redis_client, lambda: health_of(instance) == "unhealthy")
    assert read_states(redis_client)[instance.pk]["state"] == "draining"
    with django_capture_on_commit_callbacks(execute=True):
        instance_services.undrain_instance(instance, actor=oscar)
    assert read_states(redis_client)[instance.pk]["state"] == "unhealthy"


def test_a_weight_change_or_a_new_instance_keeps_the_health_of_the_others(
    redis_client: redis_lib.Redis,
    upstream_factory: Callable[..., Upstream],
    make_service,
    make_instance,
    oscar,
) -> None:
    service = make_service()
    first = make_instance(service, upstream_factory().port)
    tick_until(redis_client, lambda: health_of(first) == "healthy")
    streak = first.check_streak
    instance_services.update_instance(first, actor=oscar, weight=5)
    make_instance(service, upstream_factory().port)
    first.refresh_from_db()
    assert (first.health, first.weight) == ("healthy", 5)
    assert first.check_streak == streak
    tick(redis_client)
    assert health_of(first) == "healthy"


def test_only_the_lease_holder_checks_and_a_lapsed_lease_is_taken_over(
    redis_client: redis_lib.Redis, upstream: Upstream, make_service, make_instance
) -> None:
    make_instance(make_service(), upstream.port)
    redis_client.set(lease_key(0), "other-host:1", px=400)
    skipped = run_tick(0, client=redis_client, wait=True)
    assert not skipped.held and skipped.checked == 0 and upstream.hits == 0
    time.sleep(0.5)  # the other worker died: its lease lapses
    taken = tick(redis_client)
    assert taken.checked == 1
    assert redis_client.get(lease_key(0)).decode().endswith(f":{__import__('os').getpid()}")


def test_an_operator_can_force_a_check_outside_the_schedule(
    redis_client: redis_lib.Redis,
    upstream: Upstream,
    make_service,
    make_instance,
    oscar,
    django_capture_on_commit_callbacks,
) -> None:
    service = make_service(check_interval_seconds=3000, check_timeout_seconds=1)
    instance = make_instance(service, upstream.port)
    tick(redis_client)  # the first tick may or may not find it due
    before = upstream.hits
    with django_capture_on_commit_callbacks(execute=True):
        request_check(instance, actor=oscar)
    report = tick(redis_client)
    assert report.checked == 1 and upstream.hits == before + 1
    assert tick(redis_client).checked == 0


def test_a_flapping_instance_alternating_pass_and_fail_never_changes_state(
    redis_client: redis_lib.Redis, upstream: Upstream, make_service, make_instance
) -> None:
    instance = make_instance(make_service(), upstream.port)
    tick_until(redis_client, lambda: health_of(instance) == "healthy")
    seq = int(redis_client.get(redis_key("health", "seq")))
    upstream.mode = "flip"
    hits = upstream.hits
    for _ in range(10):
        tick(redis_client)
        assert health_of(instance) == "healthy"
    assert upstream.hits - hits == 10
    assert int(redis_client.get(redis_key("health", "seq"))) == seq  # nothing published
    instance.refresh_from_db()
    assert abs(instance.check_streak) == 1


def test_health_changes_publish_no_revision_but_the_next_snapshot_carries_them(
    redis_client: redis_lib.Redis,
    upstream: Upstream,
    make_service,
    make_instance,
    django_capture_on_commit_callbacks,
) -> None:
    from portal.publishing.compiler import compile_snapshot

    service = make_service()
    instance = make_instance(service, upstream.port)
    with django_capture_on_commit_callbacks() as scheduled:
        tick_until(redis_client, lambda: health_of(instance) == "healthy")
        upstream.stop()
        tick_until(redis_client, lambda: health_of(instance) == "unhealthy")
    assert redis_client.get(redis_key("publish", "pending")) is None
    assert not [c for c in scheduled if "claim_and_enqueue" in repr(c)]
    entry = compile_snapshot()["upstreams"][service.slug]["instances"][0]
    assert entry["state"] == read_states(redis_client)[instance.pk]["state"] == "unhealthy"


def test_a_new_address_starts_from_unknown_with_a_fresh_streak(
    redis_client: redis_lib.Redis,
    upstream_factory: Callable[..., Upstream],
    make_service,
    make_instance,
    oscar,
) -> None:
    instance = make_instance(make_service(), upstream_factory().port)
    tick_until(redis_client, lambda: health_of(instance) == "healthy")
    instance_services.update_instance(instance, actor=oscar, port=upstream_factory().port)
    instance.refresh_from_db()
    assert (instance.health, instance.check_streak) == ("unknown", 0)
    assert instance.state_reason == "address changed"
    tick(redis_client)
    assert health_of(instance) == "unknown"  # one pass is not two
