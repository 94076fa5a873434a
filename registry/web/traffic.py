"""Request rate, error rate and p99 per API version from the gateways' usage aggregates.

Reads the per-minute hashes of contracts §4 (`<p>:usage:m:<YYYYmmddHHMM>`), written
by every gateway worker every few seconds. The current minute is still filling, so
the rate divides by the seconds actually covered, not by whole minutes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis

from apis.models import ApiVersion
from portal.redis import get_redis, redis_key

WINDOW_MINUTES = 5
# Upper bounds (ms) of the latency buckets, in the order of contracts §4; "inf" last.
BUCKETS = ("5", "10", "25", "50", "100", "250", "500", "1000", "2500", "5000", "10000", "inf")


@dataclass
class VersionTraffic:
    version_id: int
    requests: int = 0
    errors: int = 0  # 5xx: the gateway's or the upstream's fault
    client_errors: int = 0  # 4xx, 429 included
    throttled: int = 0  # 429
    latency: dict[str, int] = field(default_factory=dict)
    label: str = ""
    api_slug: str = ""

    per_second: float = 0.0

    @property
    def error_percent(self) -> float:
        return 100 * self.errors / self.requests if self.requests else 0.0

    @property
    def p99_ms(self) -> str | None:
        """The upper bound of the bucket holding the 99th percentile ("inf" past 10 s)."""
        total = sum(self.latency.values())
        if not total:
            return None
        seen, threshold = 0, 0.99 * total
        for bucket in BUCKETS:
            seen += self.latency.get(bucket, 0)
            if seen >= threshold:
                return bucket
        return "inf"


@dataclass
class TrafficWindow:
    rows: list[VersionTraffic]
    seconds: float
    store_ok: bool = True
    latest_minute: str | None = None  # the newest minute with any data


def minute_keys(now: float, count: int = WINDOW_MINUTES) -> list[str]:
    start = int(now // 60) * 60
    stamps = [start - 60 * n for n in range(count)]
    return [datetime.fromtimestamp(s, UTC).strftime("%Y%m%d%H%M") for s in stamps]


def read_traffic(*, now: float | None = None) -> TrafficWindow:
    """Per-version traffic over the last WINDOW_MINUTES minutes, busiest first."""
    now = time.time() if now is None else now
    seconds = (WINDOW_MINUTES - 1) * 60 + (now % 60)
    minutes = minute_keys(now)
    try:
        client = get_redis()
        pipe = client.pipeline(transaction=False)
        for minute in minutes:
            pipe.hgetall(redis_key("usage", "m", minute))
        hashes = pipe.execute()
    except redis.exceptions.RedisError:
        return TrafficWindow(rows=[], seconds=seconds, store_ok=False)
    rows: dict[int, VersionTraffic] = {}
    for fields in hashes:
        _fold(fields, rows)
    latest = next((m for m, fields in zip(minutes, hashes, strict=True) if fields), None)
    _name(rows)
    for row in rows.values():
        row.per_second = row.requests / seconds
    ordered = sorted(rows.values(), key=lambda row: (-row.requests, row.version_id))
    return TrafficWindow(rows=ordered, seconds=seconds, latest_minute=latest)


def _fold(fields: dict[bytes, bytes], rows: dict[int, VersionTraffic]) -> None:
    for raw_name, raw_count in fields.items():
        parts = raw_name.decode().split("|")
        try:
            count, version_id = int(raw_count), int(parts[1])
        except (ValueError, IndexError):
            continue  # a field this reader does not know; newer gateways may add some
        row = rows.setdefault(version_id, VersionTraffic(version_id))
        if parts[0] == "r" and len(parts) == 5:
            _count_status(row, parts[4], count)
        elif parts[0] == "l" and len(parts) == 3:
            row.latency[parts[2]] = row.latency.get(parts[2], 0) + count


def _count_status(row: VersionTraffic, status: str, count: int) -> None:
    row.requests += count
    if status.startswith("5"):
        row.errors += count
    elif status.startswith("4"):
        row.client_errors += count
        if status == "429":
            row.throttled += count


def _name(rows: dict[int, VersionTraffic]) -> None:
    names = ApiVersion.objects.filter(pk__in=rows).values_list("pk", "api__slug", "label")
    for pk, slug, label in names:
        rows[pk].api_slug, rows[pk].label = slug, label
