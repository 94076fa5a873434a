"""Passive-health ejections reported by gateways (contracts §3): recorded, then judged.

Each tick reads `<p>:health:ejections` (a small hash; polling it every second is as prompt
as a pub/sub listener and survives a worker restart without missing a report), records
new reports as Ejection rows, closes rows whose report is gone or expired, and returns the
instances whose report still waits for a verdict: the tick probes those at once, and
`record_verdicts` writes what that probe found. The probe's result also feeds the normal
state machine: the central checker stays the one judge of health.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
import redis

from portal.redis import redis_key
from registry.models import Ejection

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class EjectionReport:
    instance: int
    upstream: str
    gateway: str
    reason: str
    ejected_at: float
    until: float
    count: int

    @property
    def key(self) -> tuple[int, str, datetime]:
        return (self.instance, self.gateway, _dt(self.ejected_at))


def _dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _parse(raw: bytes | str) -> EjectionReport:
    data = orjson.loads(raw)
    return EjectionReport(
        instance=int(data["instance"]),
        upstream=str(data.get("upstream", "")),
        gateway=str(data["gateway"])[:200],
        reason=str(data.get("reason", ""))[:300],
        ejected_at=float(data["ejected_at"]),
        until=float(data["until"]),
        count=int(data.get("count", 1)),
    )


def read_ejections(client: redis.Redis, *, now: float) -> list[EjectionReport]:
    """The reports in force now; a malformed entry is logged and skipped."""
    reports = []
    for field, raw in client.hgetall(redis_key("health", "ejections")).items():
        try:
            report = _parse(raw)
        except (ValueError, KeyError, TypeError) as exc:
            logger.warning("ignoring malformed ejection report %r: %s", field, exc)
            continue
        if report.until >= now:
            reports.append(report)
    return sorted(reports, key=lambda r: r.ejected_at)


def sync_ejections(client: redis.Redis, instance_ids: set[int], *, now: float) -> set[int]:
    """Record and close reports about `instance_ids`; returns those awaiting a verdict."""
    reports = [r for r in read_ejections(client, now=now) if r.instance in instance_ids]
    if reports:
        Ejection.objects.bulk_create([_row(r) for r in reports], ignore_conflicts=True)
    live = {report.key for report in reports}
    pending: set[int] = set()
    ended: list[int] = []
    open_rows = Ejection.objects.filter(restored_at__isnull=True).values_list(
        "pk", "instance_id", "gateway", "ejected_at", "verdict"
    )
    for pk, instance_id, gateway, ejected_at, verdict in open_rows:
        if instance_id not in instance_ids:
            continue
        if (instance_id, gateway, ejected_at) not in live:
            ended.append(pk)
        elif not verdict:
            pending.add(instance_id)
    if ended:
        Ejection.objects.filter(pk__in=ended).update(restored_at=_dt(now))
    return pending


def _row(report: EjectionReport) -> Ejection:
    return Ejection(
        instance_id=report.instance,
        gateway=report.gateway,
        reason=report.reason,
        ejected_at=_dt(report.ejected_at),
        until=_dt(report.until),
        count=report.count,
    )


def record_verdicts(results: Iterable[tuple[int, bool, str]]) -> None:
    """Write the probe's verdict on the open reports of each (instance, ok, reason)."""
    for instance_id, ok, reason in results:
        Ejection.objects.filter(
            instance_id=instance_id, restored_at__isnull=True, verdict=""
        ).update(
            verdict=Ejection.Verdict.CLEARED if ok else Ejection.Verdict.CONFIRMED,
            verdict_reason=(reason or "the central probe passed")[:300],
        )
