"""Builders for gw-policy unit tests: compiled specs without a snapshot, and a manual clock."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from gateway_runtime.config.table import InstanceSpec, Plan, UpstreamSpec


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def instance(
    id: int, *, weight: int = 1, state: str = "healthy", port: int | None = None
) -> InstanceSpec:
    port = port or 9000 + id
    return InstanceSpec(
        id=id,
        host="127.0.0.1",
        port=port,
        scheme="http",
        weight=weight,
        zone="",
        tags=(),
        state=state,
        host_header=f"127.0.0.1:{port}".encode(),
    )  # type: ignore[arg-type]


def upstream(slug: str, *instances: InstanceSpec, **policy: Any) -> UpstreamSpec:
    """policy: balancer, hash_on, max_in_flight."""
    return UpstreamSpec(slug=slug, id=1, name=slug, instances=tuple(instances), **policy)


def table(*upstreams: UpstreamSpec) -> Any:
    """Only `upstreams` is read by RuntimeState.sync."""
    return SimpleNamespace(upstreams={u.slug: u for u in upstreams})


def plan(
    id: int = 1,
    *,
    rps: int | None = None,
    rpm: int | None = None,
    per_day: int | None = None,
    per_month: int | None = None,
    burst: int | None = None,
    redis_down: str = "local",
) -> Plan:
    return Plan(
        id=id,
        name=f"plan-{id}",
        rps=rps,
        rpm=rpm,
        per_day=per_day,
        per_month=per_month,
        burst=burst,
        redis_down=redis_down,
    )  # type: ignore[arg-type]
