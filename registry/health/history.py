"""The compact history: per-minute success ratio and latency percentiles, with retention.

Ticks append their raw samples to one Redis list per UTC minute (one RPUSH per batch,
nothing per check in the database); `roll_up` turns each closed minute into one
HealthMinute row per instance with a single bulk INSERT, and `purge` drops rows older
than RETENTION_DAYS. A minute is closed GRACE_SECONDS after it ends, which covers the
stragglers of a tick that started inside it (a probe finishes within its timeout).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson
import redis

from portal.redis import redis_key
from registry.models import Ejection, HealthMinute, Instance

GRACE_SECONDS = 20
SAMPLE_TTL_SECONDS = 86400


def minute_label(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%d%H%M")


def _samples_key(label: str) -> str:
    return redis_key("health", "samples", label)


def record_samples(client: redis.Redis, samples: Iterable[tuple[int, bool, float, float]]) -> None:
    """Append (instance id, ok, ms, at) samples to their minutes' lists in one round trip."""
    by_minute: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
    for instance_id, ok, ms, at in samples:
        by_minute[minute_label(at)].append((instance_id, int(ok), ms))
    if not by_minute:
        return
    pipe = client.pipeline(transaction=False)
    # A running total for rate graphs and the benchmark (checks per second = its slope).
    pipe.incrby(redis_key("health", "checks"), sum(map(len, by_minute.values())))
    index = redis_key("health", "sample-minutes")
    for label, rows in by_minute.items():
        pipe.rpush(_samples_key(label), orjson.dumps(rows))
        pipe.expire(_samples_key(label), SAMPLE_TTL_SECONDS)
        pipe.zadd(index, {label: _minute_start(label).timestamp()})
    pipe.execute()


def _minute_start(label: str) -> datetime:
    return datetime.strptime(label, "%Y%m%d%H%M").replace(tzinfo=UTC)


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (not empty)."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class _Minute:
    checks: int = 0
    successes: int = 0
    latencies: list[float] = field(default_factory=list)


def roll_up(client: redis.Redis, *, now: float) -> int:
    """Write every closed minute's samples as HealthMinute rows; returns rows written."""
    index = redis_key("health", "sample-minutes")
    closed = client.zrangebyscore(index, "-inf", now - 60 - GRACE_SECONDS)
    written = 0
    for raw_label in closed:
        label = raw_label.decode() if isinstance(raw_label, bytes) else str(raw_label)
        pipe = client.pipeline(transaction=True)
        pipe.lrange(_samples_key(label), 0, -1)
        pipe.delete(_samples_key(label))
        pipe.zrem(index, label)
        chunks, _deleted, _removed = pipe.execute()
        written += _write_minute(_minute_start(label), chunks)
    return written


def _write_minute(minute: datetime, chunks: list[bytes]) -> int:
    per_instance: dict[int, _Minute] = defaultdict(_Minute)
    for chunk in chunks:
        for instance_id, ok, ms in orjson.loads(chunk):
            entry = per_instance[instance_id]
            entry.checks += 1
            if ok:
                entry.successes += 1
                entry.latencies.append(ms)
    existing = set(Instance.objects.filter(pk__in=per_instance).values_list("pk", flat=True))
    rows = [_row(pk, minute, entry) for pk, entry in per_instance.items() if pk in existing]
    # A late chunk for a minute already written is dropped rather than merged (rare: it
    # needs a probe to outlive GRACE_SECONDS); the unique constraint keeps one row.
    HealthMinute.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    return len(rows)


def _row(instance_id: int, minute: datetime, entry: _Minute) -> HealthMinute:
    latencies = sorted(entry.latencies)
    pcts = [percentile(latencies, p) if latencies else None for p in (50, 95, 99)]
    return HealthMinute(
        instance_id=instance_id,
        minute=minute,
        checks=entry.checks,
        successes=entry.successes,
        p50_ms=pcts[0],
        p95_ms=pcts[1],
        p99_ms=pcts[2],
    )


@dataclass(frozen=True)
class PurgeResult:
    minutes: int
    ejections: int


def purge(*, now: datetime, retention_days: int) -> PurgeResult:
    """Delete history older than the retention: minutes, and ejections restored before it."""
    cutoff = now - timedelta(days=retention_days)
    minutes, _ = HealthMinute.objects.filter(minute__lt=cutoff).delete()
    ejections, _ = Ejection.objects.filter(restored_at__lt=cutoff).delete()
    return PurgeResult(minutes=minutes, ejections=ejections)
