"""Metrics: hot-path counters rendered in the Prometheus text format by the custom collector."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from gateway_runtime.metrics import Metrics
from gateway_runtime.ratelimit import RateLimiter
from gateway_runtime.runtime_state import RuntimeState
from tests.gateway_runtime.policy_fixtures import Clock, instance, table, upstream


def samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """name + sorted labels -> value; the admin port's worker="<n>" label is left out."""
    out = {}
    for family in text_string_to_metric_families(text.decode()):
        for s in family.samples:
            labels = tuple(sorted((k, v) for k, v in s.labels.items() if k != "worker"))
            out[(s.name, labels)] = s.value
    return out


def test_requests_are_counted_per_route_consumer_and_status() -> None:
    m = Metrics()
    for _ in range(3):
        m.request(11, 5, 200, 0.003)
    m.request(11, 5, 429, 0.0001)
    m.request(12, 0, 404, 0.2)
    got = samples(m.render())
    assert (
        got[("meshgate_requests_total", (("consumer", "5"), ("route", "11"), ("status", "200")))]
        == 3
    )
    assert (
        got[("meshgate_requests_total", (("consumer", "5"), ("route", "11"), ("status", "429")))]
        == 1
    )
    assert (
        got[("meshgate_requests_total", (("consumer", "0"), ("route", "12"), ("status", "404")))]
        == 1
    )


def test_latency_histogram_is_cumulative_with_sum_and_count() -> None:
    m = Metrics()
    m.request(1, 0, 200, 0.004)
    m.request(1, 0, 200, 0.04)
    m.request(1, 0, 200, 30.0)
    got = samples(m.render())
    bucket = "meshgate_request_duration_seconds_bucket"
    assert got[(bucket, (("le", "0.005"), ("route", "1")))] == 1
    assert got[(bucket, (("le", "0.05"), ("route", "1")))] == 2
    assert got[(bucket, (("le", "10.0"), ("route", "1")))] == 2
    assert got[(bucket, (("le", "+Inf"), ("route", "1")))] == 3
    assert got[("meshgate_request_duration_seconds_count", (("route", "1"),))] == 3
    assert got[("meshgate_request_duration_seconds_sum", (("route", "1"),))] == 30.044


def test_upstream_states_ejections_and_config_revision_are_rendered() -> None:
    clock = Clock()
    state = RuntimeState(clock=clock)
    state.sync(table(upstream("orders", instance(1), instance(2), instance(3, state="unhealthy"))))
    held = state.upstream("orders").acquire()  # type: ignore[union-attr]
    m = Metrics()
    m.upstream_error("orders", "connect-error")
    store = SimpleNamespace(table=SimpleNamespace(revision=42), applied_at=1764400000.5, errors=2)
    m.set_state_source(state, store, RateLimiter())
    got = samples(m.render())
    assert (
        got[
            (
                "meshgate_upstream_instance_state",
                (("instance", "3"), ("state", "unhealthy"), ("upstream", "orders")),
            )
        ]
        == 1
    )
    assert (
        got[("meshgate_upstream_errors_total", (("kind", "connect-error"), ("upstream", "orders")))]
        == 1
    )
    assert got[("meshgate_upstream_panic", (("upstream", "orders"),))] == 0
    assert got[("meshgate_upstream_in_flight", (("upstream", "orders"),))] == 1
    assert held is not None
    assert got[("meshgate_config_revision", ())] == 42
    assert got[("meshgate_config_errors_total", ())] == 2
    assert got[("meshgate_ratelimit_redis_up", ())] == 1


def test_an_ejection_shows_as_gauge_and_counter() -> None:
    state = RuntimeState(clock=Clock())
    state.sync(table(upstream("orders", instance(1), instance(2), instance(3))))
    up = state.upstream("orders")
    assert up is not None
    victim = up.by_id[2]
    for _ in range(5):
        victim.in_flight += 1
        up.in_flight += 1
        up.release(victim, 503)
    m = Metrics()
    m.set_state_source(state, None)
    got = samples(m.render())
    assert (
        got[("meshgate_upstream_instance_ejected", (("instance", "2"), ("upstream", "orders")))]
        == 1
    )
    assert (
        got[("meshgate_upstream_ejections_total", (("instance", "2"), ("upstream", "orders")))] == 1
    )
    assert got[("meshgate_upstream_in_flight", (("upstream", "orders"),))] == 0


def test_the_hot_path_call_is_cheap() -> None:
    import time

    m = Metrics()
    started = time.perf_counter()
    for i in range(100_000):
        m.request(i % 50, i % 7, 200, 0.001)
    per_call = (time.perf_counter() - started) / 100_000
    assert per_call < 5e-6  # measured about 0.4 us; generous for a loaded CI machine


def test_a_gateway_serves_these_metrics_on_its_admin_port(
    redis_url: str, redis_client: Any, start_gateway: Any
) -> None:
    from tests.gateway_runtime import snapshots as snap
    from tests.gateway_runtime.conftest import http_get
    from tests.gateway_runtime.upstreams import Upstream

    with Upstream() as up:
        api = snap.api(
            1, "/svc/v1", [snap.route(5, "GET", "/echo", auth_mode="public")], auth_mode="public"
        )
        snap.publish(
            redis_client, snap.snapshot([api], upstreams={"svc": snap.upstream([up.port])})
        )
        gateway = start_gateway(redis=redis_url, workers=1)
        for _ in range(3):
            assert http_get(gateway.url + "/svc/v1/echo")[0] == 200
        assert http_get(gateway.url + "/nowhere")[0] == 404
        status, headers, body = http_get(gateway.admin_url + "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    got = samples(body)
    assert (
        got[("meshgate_requests_total", (("consumer", "0"), ("route", "5"), ("status", "200")))]
        == 3
    )
    assert (
        got[("meshgate_requests_total", (("consumer", "0"), ("route", "0"), ("status", "404")))]
        == 1
    )
    assert got[("meshgate_request_duration_seconds_count", (("route", "5"),))] == 3
    assert (
        got[
            (
                "meshgate_upstream_instance_state",
                (("instance", "1"), ("state", "healthy"), ("upstream", "svc")),
            )
        ]
        == 1
    )
    assert got[("meshgate_config_revision", ())] == 1


def busy_metrics() -> Metrics:
    m = Metrics()
    for route in range(200):
        m.request(route, route % 3, 200, 0.003 * (route % 7))
    for route in range(56):
        m.request(route, 1, 404, 0.01)
    m.upstream_error("svc", "timeout")
    state = RuntimeState(clock=Clock())
    state.sync(table(upstream("svc", instance(1), instance(2), instance(3, state="unhealthy"))))
    store = SimpleNamespace(table=SimpleNamespace(revision=7), applied_at=1764400000.25, errors=1)
    m.set_state_source(state, store, RateLimiter())
    return m


def test_the_fast_text_and_the_prometheus_client_collector_agree() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    m = busy_metrics()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(m.collector())
    assert samples(m.render()) == samples(generate_latest(registry))
    assert len(samples(m.render())) > 200 * 14


def test_rendering_is_much_cheaper_than_the_collector_path() -> None:
    import time

    from prometheus_client import CollectorRegistry, generate_latest

    m = busy_metrics()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(m.collector())

    def best(render) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(3):
            started = time.perf_counter()
            render()
            times.append(time.perf_counter() - started)
        return min(times)

    # Measured 5-10x; a factor of 2 leaves room for a noisy machine.
    assert best(m.render) * 2 < best(lambda: generate_latest(registry))


def test_counts_match_a_plain_dict_and_bisect_model() -> None:
    """Series past table growth, ids beyond 32 bits, NaN and bound-exact latencies."""
    import bisect
    import random

    from gateway_runtime.metrics import BUCKETS

    rnd = random.Random(3)
    m = Metrics()
    requests: dict[tuple[int, int, int], int] = {}
    latency: dict[int, list[Any]] = {}
    for _ in range(20_000):
        key = (
            rnd.choice([0, 1, 77, 4_194_304, 2**40, -3]),
            rnd.choice([0, 9, 2**31, 2**33, -1]) + rnd.randrange(30),
            rnd.choice([200, 404, 429, 503, 0, 1024]),
        )
        seconds = rnd.choice([rnd.expovariate(20.0), 0.005, 10.0, 0.0, float("nan")])
        m.request(*key, seconds)
        requests[key] = requests.get(key, 0) + 1
        hist = latency.setdefault(key[0], [0] * (len(BUCKETS) + 1) + [0.0])
        hist[bisect.bisect_left(BUCKETS, seconds)] += 1
        hist[-1] += seconds
    assert list(m.requests.items()) == list(requests.items())
    assert repr(list(m.latency.items())) == repr(list(latency.items()))  # NaN sums compare as text
    snap = m.snapshot()
    assert snap.requests == list(requests.items())
    assert repr(snap.latency) == repr(list(latency.items()))
