"""Passive health (outlier detection): eject an instance the traffic itself shows to be failing.

Rules (defaults in OutlierPolicy):
- Every response outcome is counted per instance. `consecutive_errors` (5) consecutive 5xx
  responses or transport errors eject it; so do `consecutive_connect` (5) consecutive
  connect errors / timeouts. Any other response resets both counters. Outcomes that say nothing
  about the instance ("none": overloaded, no instance; 499: the client left or the attempt was
  abandoned) are not counted.
- The k-th ejection in a row lasts base_s * 2^(k-1), capped at max_s, plus up to `jitter` of it
  at random, so gateways that ejected the same host together do not all return to it together.
  k decays by one for each base_s the instance then stays in service.
- At most max_percent of a pool may be ejected at once, computed with floor() but never below one
  and never the whole pool: a pool of 1 is never ejected, a pool of 2 loses at most 1. The
  central health checker stays the authority on "unhealthy"; an ejection is this gateway's own
  short-lived opinion and expires by itself.

Ejections and restorations are queued and written to Redis from the worker tick (contracts §3):
hash `<p>:health:ejections` field "<instance>|<gateway>" and a message on the channel of the same
name with "event": "ejected" | "restored".
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("gateway_runtime.outlier")

# What the upstream client reports besides an HTTP status (UpstreamError.outcome).
CONNECT_ERROR = "connect-error"
TIMEOUT = "timeout"
ERROR = "error"
NONE = "none"
# nginx's "client closed request": the attempt ended for a reason that says nothing about the
# instance (the client left, or the acquired instance was not used after all). Not counted.
CLIENT_CLOSED = 499


@dataclass(frozen=True, slots=True)
class OutlierPolicy:
    consecutive_errors: int = 5
    consecutive_connect: int = 5
    base_s: float = 30.0
    max_s: float = 300.0
    jitter: float = 0.1
    max_percent: int = 50

    def __post_init__(self) -> None:
        if self.consecutive_errors < 1 or self.consecutive_connect < 1:
            raise ValueError("outlier thresholds must be >= 1")
        if not 0 <= self.max_percent <= 100:
            raise ValueError(f"outlier max_percent must be within 0..100, got {self.max_percent}")
        if self.base_s <= 0 or self.max_s < self.base_s:
            raise ValueError("outlier base_s must be > 0 and max_s >= base_s")


class OutlierCounters:
    """Per-instance counters; RuntimeState's InstanceRuntime inherits these fields (C fields
    when compiled: outlier.pxd)."""

    def __init__(self) -> None:
        self.fails = 0
        self.connect_fails = 0
        self.ejected_until = 0.0  # monotonic seconds; 0 = in service
        self.ejections = 0  # k: the ejection multiplier
        self.ejection_reason = ""
        self.decay_at = 0.0


def record_outcome(c: OutlierCounters, outcome: int | str, policy: OutlierPolicy) -> str | None:
    """Count one outcome; return the ejection reason when a threshold is reached, else None."""
    if type(outcome) is int:
        if outcome == CLIENT_CLOSED:
            return None
        if outcome < 500:
            c.fails = 0
            c.connect_fails = 0
            return None
        c.connect_fails = 0
        c.fails += 1
        if c.fails >= policy.consecutive_errors:
            return f"{c.fails} consecutive 5xx responses (last {outcome})"
        return None
    if outcome == NONE:
        return None
    c.fails += 1
    if outcome in (CONNECT_ERROR, TIMEOUT):
        c.connect_fails += 1
        if c.connect_fails >= policy.consecutive_connect:
            return f"{c.connect_fails} consecutive {outcome}s"
    if c.fails >= policy.consecutive_errors:
        return f"{c.fails} consecutive errors (last {outcome})"
    return None


def ejection_seconds(policy: OutlierPolicy, k: int, rng: random.Random) -> float:
    """Duration of the k-th consecutive ejection (k >= 1), jitter included."""
    base = min(policy.base_s * (2 ** min(k - 1, 30)), policy.max_s)
    return base * (1.0 + policy.jitter * rng.random())


def max_ejected(policy: OutlierPolicy, pool_size: int) -> int:
    """How many of a pool may be ejected at once: floor(pct), at least 1, never all."""
    if pool_size <= 1:
        return 0
    allowed = max(1, pool_size * policy.max_percent // 100)
    return min(allowed, pool_size - 1)


class EjectionReports:
    """Queue of ejection events for Redis, written from the tick (never from a request)."""

    def __init__(self, gateway: str, wall: Callable[[], float] = time.time) -> None:
        self.gateway = gateway
        self.wall = wall
        self.pending: list[tuple[str, dict[str, Any]]] = []
        self.last_error: str | None = None
        self.ejected_total: dict[tuple[str, int], int] = {}  # (upstream, instance) -> ejections

    def ejected(
        self, instance: int, upstream: str, reason: str, seconds: float, count: int
    ) -> None:
        now = self.wall()
        self.ejected_total[(upstream, instance)] = (
            self.ejected_total.get((upstream, instance), 0) + 1
        )
        self.pending.append(
            (
                "ejected",
                {
                    "instance": instance,
                    "upstream": upstream,
                    "gateway": self.gateway,
                    "reason": reason,
                    "ejected_at": now,
                    "until": now + seconds,
                    "count": count,
                },
            )
        )

    def restored(self, instance: int, upstream: str, reason: str) -> None:
        now = self.wall()
        self.pending.append(
            (
                "restored",
                {
                    "instance": instance,
                    "upstream": upstream,
                    "gateway": self.gateway,
                    "reason": reason,
                    "ejected_at": None,
                    "until": now,
                    "count": 0,
                },
            )
        )

    async def flush(self, redis: Redis, prefix: str) -> int:
        """Write the queued events in one pipeline; on a Redis error keep them for the next tick."""
        if not self.pending:
            return 0
        events, self.pending = self.pending, []
        key = f"{prefix}:health:ejections"
        pipe = redis.pipeline(transaction=False)
        for event, body in events:
            field = f"{body['instance']}|{self.gateway}"
            if event == "ejected":
                pipe.hset(key, field, orjson.dumps(body))
            else:
                pipe.hdel(key, field)
            pipe.publish(key, orjson.dumps({**body, "event": event}))
        try:
            await pipe.execute()
        except Exception as exc:  # noqa: BLE001 - any Redis/transport failure: retry next tick
            self.pending = events + self.pending
            del self.pending[:-1000]  # bounded: a long outage keeps only the latest events
            if self.last_error is None:  # once per outage
                log.warning("ejection report failed: %s: %s", type(exc).__name__, exc)
            self.last_error = f"ejection report failed: {type(exc).__name__}: {exc}"
            return 0
        self.last_error = None
        return len(events)
