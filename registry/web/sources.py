"""What the operator pages read besides the database: the Redis hashes of contracts §1-§3.

The health workers own `registry.services.gateways` and `registry.services.health`;
this module reads through them and adds only the live state overlay (§1). Every
reader answers when Redis is down: a dashboard that fails with the store is
useless exactly when an operator needs it, so the page shows a warning instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis

from portal.redis import get_redis, redis_key
from registry.health.ejections import EjectionReport
from registry.services.gateways import GatewaySummary, GatewayWorker, gateway_summary, list_gateways
from registry.services.health import checker_status, current_ejections, request_check

__all__ = [
    "GatewaySummary",
    "GatewayWorker",
    "LiveHealth",
    "gateway_summary",
    "list_gateways",
    "read_live_health",
    "request_check",
]

logger = logging.getLogger(__name__)

# Beat ticks every shard each second; this long without a tick means the states shown are old.
CHECKER_STALE_SECONDS = 10.0


@dataclass
class LiveHealth:
    """The health workers' latest verdicts (§1) and the gateways' ejections in force (§3)."""

    states: dict[int, dict[str, Any]] = field(default_factory=dict)
    ejections: dict[int, list[EjectionReport]] = field(default_factory=dict)
    store_ok: bool = True
    # Shards of the health checker that have not ticked for CHECKER_STALE_SECONDS.
    silent_checkers: list[dict[str, Any]] = field(default_factory=list)
    checker_seen: bool = True

    @property
    def ejection_count(self) -> int:
        return sum(len(reports) for reports in self.ejections.values())


def read_live_health(*, now: float | None = None) -> LiveHealth:
    live = LiveHealth()
    try:
        raw = get_redis().hgetall(redis_key("health", "states"))
    except (redis.RedisError, OSError) as exc:
        logger.warning("cannot read live health states: %s", exc)
        return LiveHealth(store_ok=False)
    for value in raw.values():
        entry = _loads(value)
        if entry and isinstance(entry.get("instance"), int):
            live.states[entry["instance"]] = entry
    for ejection in current_ejections(now=now):
        live.ejections.setdefault(ejection.report.instance, []).append(ejection.report)
    shards = checker_status(now=now)
    live.checker_seen = bool(shards)
    live.silent_checkers = [s for s in shards if s["seconds_ago"] > CHECKER_STALE_SECONDS]
    return live


def _loads(value: bytes | str) -> dict[str, Any] | None:
    try:
        entry = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return entry if isinstance(entry, dict) else None
