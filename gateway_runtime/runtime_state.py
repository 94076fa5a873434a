"""Live per-upstream state of one worker: in-flight counts, health overlay, ejections, slow start.

The compiled Table is immutable and replaced on every revision; this state is not: it survives
swaps and is reconciled by instance id in `sync(table)`, so a new revision never resets in-flight
counts, ejections or the health the checkers reported.

Which instances take traffic (the balancer's candidates), recomputed only when something changes:
- in the pool: every instance not draining and not removed;
- available: in the pool, health "healthy" or "unknown" (no checker has spoken yet), not ejected.
- Panic mode: when fewer than `panic_threshold` (50 %) of the pool are available, the candidates
  become the whole pool, unhealthy and ejected ones included. Like Envoy's panic threshold: when
  most hosts look down, the health signal itself is more likely wrong (or the outage total), and
  spreading load beats crushing the few survivors or refusing everything. Draining instances never
  take new requests, panic or not.
- Slow start: an instance that becomes available again (back from unhealthy, ejected or draining,
  or newly added after the first revision) starts at 10 % of its weight and ramps linearly to the
  full weight over `slow_start_s` (30 s); weights are refreshed on the 1 s tick.

Health overlay (contracts §1): `set_instance_state(id, state, seq)` applies only if `seq` is newer
than the last one applied for that instance; the overlay wins over the snapshot's compile-time
state and is kept across revisions.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gateway_runtime.balancer import Balancer, make_balancer
from gateway_runtime.outlier import (
    EjectionReports,
    OutlierCounters,
    OutlierPolicy,
    ejection_seconds,
    max_ejected,
    record_outcome,
)
from gateway_runtime.retry_budget import RetryBudget

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from gateway_runtime.config.table import InstanceSpec, Table, UpstreamSpec

log = logging.getLogger("gateway_runtime.runtime_state")

AVAILABLE_STATES = frozenset({"healthy", "unknown"})
OUT_OF_POOL_STATES = frozenset({"draining", "removed"})
SLOW_START_MIN = 0.1


class InstanceRuntime(OutlierCounters):
    """One instance as this worker sees it; the balancer reads eff_weight and in_flight."""

    def __init__(self, spec: InstanceSpec, upstream: str) -> None:
        super().__init__()
        self.id = spec.id
        self.upstream = upstream
        self.in_flight = 0
        self.health: str | None = None  # overlay state from the health workers
        self.ready_since = 0.0  # monotonic start of slow start; 0 = full weight
        self.apply_spec(spec)
        self.eff_weight = float(self.weight)

    def apply_spec(self, spec: InstanceSpec) -> None:
        """Take address, weight and compile-time state from a (new) revision."""
        self.spec = spec
        self.host = spec.host
        self.port = spec.port
        self.scheme = spec.scheme
        self.host_header = spec.host_header
        self.pool_key = (spec.scheme, spec.host, spec.port)  # its upstream connections' pool
        self.weight = spec.weight
        self.config_state = spec.state

    @property
    def state(self) -> str:
        """Effective state: the health overlay when one arrived, else the snapshot's."""
        return self.health if self.health is not None else self.config_state

    def in_pool(self) -> bool:
        """Not draining and not removed: may take traffic at least in panic mode."""
        return self.state not in OUT_OF_POOL_STATES

    def available(self) -> bool:
        """Healthy or unknown and not ejected: takes traffic in normal mode."""
        return self.state in AVAILABLE_STATES and not self.ejected_until


def parse_hash_on(text: str | None) -> tuple[str, bytes | None] | None:
    """'header:X-User' -> ('header', b'x-user'); 'cookie:sid' -> ('cookie', b'sid'); 'ip'."""
    if not text:
        return None
    kind, _, name = text.partition(":")
    kind = kind.strip().lower()
    if kind == "ip":
        return ("ip", None)
    if kind == "header" and name.strip():
        return ("header", name.strip().lower().encode("latin-1"))
    if kind == "cookie" and name.strip():
        return ("cookie", name.strip().encode("latin-1"))
    raise ValueError(f"hash_on must be 'header:<name>', 'cookie:<name>' or 'ip', got {text!r}")


class UpstreamRuntime:
    """One service: its instances, the balancer over the current candidates, limits and budget."""

    def __init__(self, spec: UpstreamSpec, owner: RuntimeState) -> None:
        self.slug = spec.slug
        self.owner = owner
        self.instances: list[InstanceRuntime] = []
        self.by_id: dict[int, InstanceRuntime] = {}
        self.in_flight = 0
        self.panic = False
        self.budget = RetryBudget()
        self.balancer: Balancer = make_balancer(None, owner.rng)
        self.hash_on: tuple[str, bytes | None] | None = None
        self.max_in_flight = owner.default_max_in_flight
        self.spec = spec

    # -- the request path -------------------------------------------------------------------
    def at_capacity(self) -> bool:
        """True when the concurrency limit is reached: answer 503 overloaded at once."""
        return self.in_flight >= self.max_in_flight

    def acquire(
        self,
        key: bytes | str | None = None,
        exclude: InstanceRuntime | None = None,
    ) -> InstanceRuntime | None:
        """Pick an instance and count the request in flight; None when there is none to pick."""
        inst: Any = self.balancer.pick(key, exclude)
        if inst is None:
            return None
        inst.in_flight += 1
        self.in_flight += 1
        return inst  # type: ignore[no-any-return]

    def release(self, inst: InstanceRuntime, outcome: int | str) -> None:
        """End one acquire(): an HTTP status, or the UpstreamError.outcome string."""
        inst.in_flight -= 1
        self.in_flight -= 1
        if type(outcome) is int and outcome < 500 and not inst.fails:
            return  # the common case: nothing to count
        reason = record_outcome(inst, outcome, self.owner.policy)
        if reason is not None and not inst.ejected_until and self.by_id.get(inst.id) is inst:
            self._eject(inst, reason)

    def report(self, inst: InstanceRuntime, outcome: int | str) -> None:
        """Alias of release() (a compiled class cannot alias a method by assignment)."""
        self.release(inst, outcome)

    # -- state changes (rare) ---------------------------------------------------------------
    def _eject(self, inst: InstanceRuntime, reason: str) -> None:
        pool = [i for i in self.instances if i.in_pool()]
        ejected = sum(1 for i in pool if i.ejected_until)
        if ejected >= max_ejected(self.owner.policy, len(pool)):
            return  # keep the counters: it is ejected as soon as there is room
        owner = self.owner
        inst.ejections += 1
        seconds = ejection_seconds(owner.policy, inst.ejections, owner.rng)
        now = owner.clock()
        inst.ejected_until = now + seconds
        inst.ejection_reason = reason
        owner.reports.ejected(inst.id, self.slug, reason, seconds, inst.ejections)
        self.refresh(now)

    def apply_spec(self, spec: UpstreamSpec, now: float, first: bool) -> None:
        """Reconcile instances with a new revision by id; keeps counters of the ones that stay."""
        self.spec = spec
        self.balancer = self._balancer_for(spec)
        try:
            self.hash_on = parse_hash_on(getattr(spec, "hash_on", None))
        except ValueError as exc:  # compile should have refused it; never fail a swap on it
            log.warning("upstream %s: %s; balancing without a hash key", spec.slug, exc)
            self.hash_on = None
        limit = getattr(spec, "max_in_flight", None)
        self.max_in_flight = limit if limit else self.owner.default_max_in_flight
        kept: list[InstanceRuntime] = []
        for ispec in spec.instances:
            inst = self.by_id.get(ispec.id)
            if inst is None:
                inst = self.owner.new_instance(ispec, self.slug)
                if not first and inst.available():
                    inst.ready_since = now
            else:
                was = inst.available()
                inst.apply_spec(ispec)
                if not was and inst.available():
                    inst.ready_since = now
            kept.append(inst)
        ids = {i.id for i in kept}
        for gone in self.instances:
            if gone.id not in ids:
                self.owner.forget(gone)
        self.instances = kept
        self.by_id = {i.id: i for i in kept}
        self.refresh(now)

    def _balancer_for(self, spec: UpstreamSpec) -> Balancer:
        name = getattr(spec, "balancer", None) or self.owner.default_balancer
        if self.balancer.name == make_balancer(name).name:
            return self.balancer  # same policy: keep its running state (round-robin totals)
        return make_balancer(name, self.owner.rng)

    def refresh(self, now: float) -> None:
        """Recompute slow-start weights, panic mode and the balancer's candidates."""
        window = self.owner.slow_start_s
        for inst in self.instances:
            if inst.ready_since:
                ramp = (now - inst.ready_since) / window if window > 0 else 1.0
                if ramp >= 1.0:
                    inst.ready_since = 0.0
                    ramp = 1.0
                inst.eff_weight = inst.weight * max(SLOW_START_MIN, ramp)
            else:
                inst.eff_weight = float(inst.weight)
        pool = [i for i in self.instances if i.in_pool()]
        available = [i for i in pool if i.available()]
        self.panic = bool(pool) and len(available) < self.owner.panic_threshold * len(pool)
        self.balancer.update(pool if self.panic else available)

    def tick(self, now: float) -> None:
        """Expire ejections, decay ejection multipliers, advance slow start and the retry budget."""
        changed = False
        policy = self.owner.policy
        for inst in self.instances:
            if inst.ejected_until and now >= inst.ejected_until:
                inst.ejected_until = 0.0
                inst.fails = inst.connect_fails = 0
                inst.decay_at = now + policy.base_s
                if inst.available():
                    inst.ready_since = now
                self.owner.reports.restored(inst.id, self.slug, "ejection expired")
                changed = True
            elif inst.ejections and not inst.ejected_until and now >= inst.decay_at:
                inst.ejections -= 1
                inst.decay_at = now + policy.base_s
            if inst.ready_since:
                changed = True
        if changed:
            self.refresh(now)
        self.budget.tick(now)

    def status(self, now: float) -> dict[str, Any]:
        """JSON-able view for the admin /status page."""
        return {
            "panic": self.panic,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "balancer": self.balancer.name,
            "instances": [
                {
                    "id": i.id,
                    "address": f"{i.scheme}://{i.host}:{i.port}",
                    "state": i.state,
                    "weight": i.weight,
                    "effective_weight": round(i.eff_weight, 3),
                    "in_flight": i.in_flight,
                    "ejected": bool(i.ejected_until),
                    "ejected_for_s": round(max(i.ejected_until - now, 0.0), 1),
                    "ejection_reason": i.ejection_reason if i.ejected_until else None,
                }
                for i in self.instances
            ],
        }


class RuntimeState:
    """All upstreams of one worker process."""

    def __init__(
        self,
        gateway_id: str = "",
        clock: Callable[[], float] = time.monotonic,
        *,
        policy: OutlierPolicy | None = None,
        panic_threshold: float = 0.5,
        slow_start_s: float = 30.0,
        default_max_in_flight: int = 1024,
        default_balancer: str = "least_request",
        rng: random.Random | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if not 0.0 <= panic_threshold <= 1.0:
            raise ValueError(f"panic_threshold must be within 0..1, got {panic_threshold}")
        if default_max_in_flight < 1:
            raise ValueError(f"default_max_in_flight must be >= 1, got {default_max_in_flight}")
        self.clock = clock
        self.policy = policy or OutlierPolicy()
        self.panic_threshold = panic_threshold
        self.slow_start_s = slow_start_s
        self.default_max_in_flight = default_max_in_flight
        self.default_balancer = default_balancer
        self.rng = rng or random.Random()
        self.reports = EjectionReports(gateway_id, wall)
        self.upstreams: dict[str, UpstreamRuntime] = {}
        self._instances: dict[int, InstanceRuntime] = {}
        self._overlay: dict[int, tuple[int, str]] = {}  # instance id -> (seq, state)
        self._synced = False

    def upstream(self, slug: str) -> UpstreamRuntime | None:
        """The live state of one service, None for a slug the current table does not have."""
        return self.upstreams.get(slug)

    def sync(self, table: Table) -> None:
        """Reconcile with a newly applied table (call after every successful swap)."""
        now = self.clock()
        first = not self._synced
        fresh: dict[str, UpstreamRuntime] = {}
        for slug, spec in table.upstreams.items():
            up = self.upstreams.get(slug) or UpstreamRuntime(spec, self)
            up.apply_spec(spec, now, first)
            fresh[slug] = up
        for slug, up in self.upstreams.items():
            if slug not in fresh:
                for inst in up.instances:
                    self.forget(inst)
        self.upstreams = fresh
        self._synced = True

    def new_instance(self, spec: InstanceSpec, upstream: str) -> InstanceRuntime:
        """Create an instance's runtime state, with the health overlay already known for it."""
        inst = InstanceRuntime(spec, upstream)
        overlay = self._overlay.get(spec.id)
        if overlay is not None:
            inst.health = overlay[1]
        self._instances[spec.id] = inst
        return inst

    def forget(self, inst: InstanceRuntime) -> None:
        """An instance left the configuration: drop it, and withdraw its ejection report."""
        if self._instances.get(inst.id) is inst:
            del self._instances[inst.id]
        if inst.ejected_until:
            self.reports.restored(inst.id, inst.upstream, "removed from the configuration")

    def set_instance_state(self, instance_id: int, state: str, seq: int) -> bool:
        """Apply a health update (contracts §1) if its seq is newer; True when applied."""
        last = self._overlay.get(instance_id)
        if last is not None and seq <= last[0]:
            return False
        self._overlay[instance_id] = (seq, state)
        inst = self._instances.get(instance_id)
        if inst is not None and inst.health != state:
            was = inst.available()
            inst.health = state
            now = self.clock()
            if not was and inst.available():
                inst.ready_since = now
            self.upstreams[inst.upstream].refresh(now)
        return True

    def tick(self, now: float | None = None) -> None:
        """Periodic upkeep, from the worker's 1 s tick."""
        now = self.clock() if now is None else now
        for up in self.upstreams.values():
            up.tick(now)

    async def flush(self, redis: Redis, prefix: str) -> int:
        """Write queued ejection events to Redis (contracts §3); errors go to reports.last_error."""
        return await self.reports.flush(redis, prefix)

    def snapshot(self) -> dict[str, Any]:
        """Upstream states and ejected hosts for the admin /status page."""
        now = self.clock()
        return {slug: up.status(now) for slug, up in self.upstreams.items()}
