"""Operators' health actions and the views of health data the API and dashboards read."""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
import redis
from auditlog.models import LogEntry
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from portal.redis import get_redis, redis_key
from portal.services import acting_as
from registry.health.ejections import EjectionReport, read_ejections
from registry.health.runner import force_key
from registry.health.targets import shard_of
from registry.models import HealthMinute, Instance

if TYPE_CHECKING:
    from portal.models import User

logger = logging.getLogger(__name__)


def request_check(instance: Instance, *, actor: User | None) -> None:
    """Ask the checker to probe the instance in its shard's next tick (within ~1 s).

    Written to the audit log: the request changes no row, so the entry is made here.
    """
    with acting_as(actor):
        LogEntry.objects.log_create(
            instance,
            force_log=True,
            action=LogEntry.Action.ACCESS,
            changes={"health_check": ["", "requested"]},
            actor=actor,
        )
        transaction.on_commit(functools.partial(_enqueue_check, instance.pk))


def _enqueue_check(instance_id: int) -> None:
    shard = shard_of(instance_id, int(settings.MESHGATE_HEALTH["SHARDS"]))
    try:
        get_redis().zadd(force_key(shard), {str(instance_id): time.time()})
    except (redis.RedisError, OSError) as exc:
        logger.warning("could not request a check of instance %s: %s", instance_id, exc)


def stale_intervals() -> int:
    return int(settings.MESHGATE_HEALTH["STALE_INTERVALS"])


def stale_instances(*, now: datetime) -> list[Instance]:
    """Instances with no check result for STALE_INTERVALS of their service's interval."""
    intervals = stale_intervals()
    rows = Instance.objects.select_related("service").only(
        "id",
        "host",
        "port",
        "scheme",
        "health",
        "draining",
        "last_check_at",
        "created_at",
        "state_changed_at",
        "service__slug",
        "service__check_interval_seconds",
    )
    return [row for row in rows.iterator(chunk_size=2000) if row.is_stale(now, intervals)]


def checker_status(*, now: float | None = None) -> list[dict[str, Any]]:
    """When each shard last ticked and on which worker ([] when Redis is down)."""
    now = time.time() if now is None else now
    try:
        raw = get_redis().hgetall(redis_key("health", "checkers"))
    except (redis.RedisError, OSError) as exc:
        logger.warning("cannot read checker status: %s", exc)
        return []
    shards = [orjson.loads(value) for value in raw.values()]
    for shard in shards:
        shard["seconds_ago"] = round(now - float(shard.get("at", 0)), 3)
    return sorted(shards, key=lambda s: s.get("shard", 0))


@dataclass(frozen=True)
class CurrentEjection:
    report: EjectionReport
    instance: Instance | None


def current_ejections(*, now: float | None = None) -> list[CurrentEjection]:
    """The ejections in force (reported by gateways, not expired), with their instances."""
    now = time.time() if now is None else now
    try:
        reports = read_ejections(get_redis(), now=now)
    except (redis.RedisError, OSError) as exc:
        logger.warning("cannot read ejections: %s", exc)
        return []
    instances = Instance.objects.select_related("service").in_bulk(
        [report.instance for report in reports]
    )
    return [CurrentEjection(report, instances.get(report.instance)) for report in reports]


def instance_history(instance: Instance, *, since: datetime) -> QuerySet[HealthMinute]:
    """The instance's per-minute history from `since` (oldest first)."""
    return HealthMinute.objects.filter(instance=instance, minute__gte=since).order_by("minute")


def history_since(minutes: int, *, now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now - timedelta(minutes=minutes)
