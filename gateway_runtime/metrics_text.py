"""Render a MetricsSnapshot: fast direct text (what /metrics serves), or a prometheus_client
Collector with the same series. Both are pure functions of the snapshot."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from gateway_runtime.metrics import BUCKETS, MetricsSnapshot

LE = (*(repr(b) for b in BUCKETS), "+Inf")

HELP = {
    "meshgate_requests": "Requests answered, by route, consumer and status.",
    "meshgate_request_duration_seconds": "Time from the request head to the end of the response.",
    "meshgate_upstream_errors": "Failed upstream attempts by kind.",
    "meshgate_upstream_in_flight": "Requests in flight.",
    "meshgate_upstream_panic": "1 while in panic mode.",
    "meshgate_upstream_instance_state": "Effective state of each instance (1).",
    "meshgate_upstream_instance_ejected": "1 while passive health ejects it.",
    "meshgate_upstream_ejections": "Passive-health ejections.",
    "meshgate_retry_budget_denied": "Retries refused by the retry budget.",
    "meshgate_ratelimit_redis_up": "1 while rate-limit syncs reach Redis.",
    "meshgate_config_revision": "Revision served (0 = none).",
    "meshgate_config_applied_timestamp_seconds": "When it was applied.",
    "meshgate_config_errors": "Revisions refused.",
}


def _esc(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _head(out: list[str], name: str, kind: str) -> None:
    full = f"{name}_total" if kind == "counter" else name
    out.append(f"# HELP {full} {HELP[name]}\n# TYPE {full} {kind}\n")


def format_text(snap: MetricsSnapshot) -> bytes:
    """Prometheus text format 0.0.4 of the snapshot."""
    out: list[str] = []
    add = out.append
    _head(out, "meshgate_requests", "counter")
    for (route, app, status), n in snap.requests:
        add(f'meshgate_requests_total{{route="{route}",consumer="{app}",status="{status}"}} {n}\n')
    _head(out, "meshgate_request_duration_seconds", "histogram")
    for route, hist in snap.latency:
        running = 0
        for le, n in zip(LE, hist, strict=False):  # hist ends with the sum: zip stops before it
            running += n
            add(
                f'meshgate_request_duration_seconds_bucket{{route="{route}",le="{le}"}} {running}\n'
            )
        add(f'meshgate_request_duration_seconds_count{{route="{route}"}} {running}\n')
        add(f'meshgate_request_duration_seconds_sum{{route="{route}"}} {hist[-1]!r}\n')
    _head(out, "meshgate_upstream_errors", "counter")
    for (slug, kind), n in snap.upstream_errors:
        add(f'meshgate_upstream_errors_total{{upstream="{_esc(slug)}",kind="{_esc(kind)}"}} {n}\n')
    _upstreams(out, snap)
    _config(out, snap)
    return "".join(out).encode()


def _upstreams(out: list[str], snap: MetricsSnapshot) -> None:
    if not snap.upstreams and not snap.ejections:
        return
    rows = [(_esc(r.slug), r) for r in snap.upstreams]
    _head(out, "meshgate_upstream_in_flight", "gauge")
    out.extend(f'meshgate_upstream_in_flight{{upstream="{s}"}} {r.in_flight}\n' for s, r in rows)
    _head(out, "meshgate_upstream_panic", "gauge")
    out.extend(f'meshgate_upstream_panic{{upstream="{s}"}} {int(r.panic)}\n' for s, r in rows)
    _head(out, "meshgate_upstream_instance_state", "gauge")
    for s, r in rows:
        out.extend(
            f'meshgate_upstream_instance_state{{upstream="{s}",instance="{i}",state="{st}"}} 1\n'
            for i, st, _ej in r.instances  # states are a fixed set of plain words
        )
    _head(out, "meshgate_upstream_instance_ejected", "gauge")
    for s, r in rows:
        out.extend(
            f'meshgate_upstream_instance_ejected{{upstream="{s}",instance="{i}"}} {int(ej)}\n'
            for i, _st, ej in r.instances
        )
    _head(out, "meshgate_upstream_ejections", "counter")
    out.extend(
        f'meshgate_upstream_ejections_total{{upstream="{_esc(slug)}",instance="{i}"}} {n}\n'
        for (slug, i), n in snap.ejections
    )
    _head(out, "meshgate_retry_budget_denied", "counter")
    out.extend(
        f'meshgate_retry_budget_denied_total{{upstream="{s}"}} {r.budget_denied}\n' for s, r in rows
    )


def _config(out: list[str], snap: MetricsSnapshot) -> None:
    if snap.redis_up is not None:
        _head(out, "meshgate_ratelimit_redis_up", "gauge")
        out.append(f"meshgate_ratelimit_redis_up {snap.redis_up}\n")
    if snap.config is not None:
        revision, applied_at, errors = snap.config
        _head(out, "meshgate_config_revision", "gauge")
        out.append(f"meshgate_config_revision {revision}\n")
        _head(out, "meshgate_config_applied_timestamp_seconds", "gauge")
        out.append(f"meshgate_config_applied_timestamp_seconds {applied_at!r}\n")
        _head(out, "meshgate_config_errors", "counter")
        out.append(f"meshgate_config_errors_total {errors}\n")


class SnapshotCollector(Collector):
    """prometheus_client view of the same series (slower; for embedding in a registry)."""

    def __init__(self, take: Callable[[], MetricsSnapshot]) -> None:
        self.take = take

    def collect(self) -> Iterator[Metric]:
        snap = self.take()
        total = CounterMetricFamily(
            "meshgate_requests", HELP["meshgate_requests"], labels=["route", "consumer", "status"]
        )
        for (route, app, status), n in snap.requests:
            total.add_metric([str(route), str(app), str(status)], n)
        yield total
        hist = HistogramMetricFamily(
            "meshgate_request_duration_seconds",
            HELP["meshgate_request_duration_seconds"],
            labels=["route"],
        )
        for route, counts in snap.latency:
            running, buckets = 0, []
            for le, n in zip(LE, counts, strict=False):
                running += n
                buckets.append((le, running))
            hist.add_metric([str(route)], buckets, counts[-1])
        yield hist
        errors = CounterMetricFamily(
            "meshgate_upstream_errors",
            HELP["meshgate_upstream_errors"],
            labels=["upstream", "kind"],
        )
        for (slug, kind), n in snap.upstream_errors:
            errors.add_metric([slug, kind], n)
        yield errors
        yield from self._upstreams(snap)
        yield from self._config(snap)

    def _upstreams(self, snap: MetricsSnapshot) -> Iterator[Metric]:
        if not snap.upstreams and not snap.ejections:
            return
        g = {
            n: GaugeMetricFamily(n, HELP[n], labels=labels)
            for n, labels in (
                ("meshgate_upstream_in_flight", ["upstream"]),
                ("meshgate_upstream_panic", ["upstream"]),
                ("meshgate_upstream_instance_state", ["upstream", "instance", "state"]),
                ("meshgate_upstream_instance_ejected", ["upstream", "instance"]),
            )
        }
        denied = CounterMetricFamily(
            "meshgate_retry_budget_denied",
            HELP["meshgate_retry_budget_denied"],
            labels=["upstream"],
        )
        for r in snap.upstreams:
            g["meshgate_upstream_in_flight"].add_metric([r.slug], r.in_flight)
            g["meshgate_upstream_panic"].add_metric([r.slug], int(r.panic))
            denied.add_metric([r.slug], r.budget_denied)
            for i, state, ejected in r.instances:
                g["meshgate_upstream_instance_state"].add_metric([r.slug, str(i), state], 1)
                g["meshgate_upstream_instance_ejected"].add_metric([r.slug, str(i)], int(ejected))
        ejections = CounterMetricFamily(
            "meshgate_upstream_ejections",
            HELP["meshgate_upstream_ejections"],
            labels=["upstream", "instance"],
        )
        for (slug, i), n in snap.ejections:
            ejections.add_metric([slug, str(i)], n)
        yield from (*g.values(), ejections, denied)

    def _config(self, snap: MetricsSnapshot) -> Iterator[Metric]:
        if snap.redis_up is not None:
            yield GaugeMetricFamily(
                "meshgate_ratelimit_redis_up",
                HELP["meshgate_ratelimit_redis_up"],
                value=snap.redis_up,
            )
        if snap.config is not None:
            revision, applied_at, errors = snap.config
            for name, value in (
                ("meshgate_config_revision", revision),
                ("meshgate_config_applied_timestamp_seconds", applied_at),
            ):
                yield GaugeMetricFamily(name, HELP[name], value=value)
            yield CounterMetricFamily(
                "meshgate_config_errors", HELP["meshgate_config_errors"], value=errors
            )
