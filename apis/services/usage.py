"""Usage of applications per day, read from the gateways' aggregates in Redis (contracts §4).

The gateways flush `<prefix>:usage:d:<YYYYmmdd>` hashes whose fields are
"<app_id>|<version_id>|<status>" -> count. This module only reads them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

import redis
from django.utils import timezone

from portal.redis import get_redis, redis_key

logger = logging.getLogger(__name__)

MAX_DAYS = 90
# HSCAN filters server side; a day hash holds a field per (app, version, status) of
# the whole installation, so fetching it whole for one app would not scale.
SCAN_COUNT = 1000


@dataclass
class DayUsage:
    """Counts for one UTC day. `errors` are responses >= 400 other than 429."""

    day: date
    requests: int = 0
    errors: int = 0
    throttled: int = 0

    def add(self, status: int, count: int) -> None:
        self.requests += count
        if status == 429:
            self.throttled += count
        elif status >= 400:
            self.errors += count


@dataclass
class UsageReport:
    days: list[DayUsage]
    by_version: dict[int, DayUsage] = field(default_factory=dict)
    available: bool = True  # False when Redis could not be read

    @property
    def total(self) -> DayUsage:
        total = DayUsage(self.days[-1].day if self.days else timezone.now().date())
        for day in self.days:
            total.requests += day.requests
            total.errors += day.errors
            total.throttled += day.throttled
        return total

    @property
    def peak(self) -> int:
        return max((day.requests for day in self.days), default=0)


def application_usage(
    app_id: int, *, days: int = 14, today: date | None = None, client: redis.Redis | None = None
) -> UsageReport:
    """Requests, errors and 429s of one application for the `days` UTC days up to `today`.

    Oldest day first. Redis being down gives an empty report marked unavailable, never an error.
    """
    days = max(1, min(days, MAX_DAYS))
    end = today or timezone.now().date()
    window = [end - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    report = UsageReport(days=[DayUsage(day) for day in window])
    try:
        _fill(report, app_id, client or get_redis())
    except redis.RedisError as error:
        logger.warning("usage of application %s unreadable: %s", app_id, error)
        report.available = False
    return report


def _fill(report: UsageReport, app_id: int, client: redis.Redis) -> None:
    pattern = f"{app_id}|*"
    for day_usage in report.days:
        key = day_key(day_usage.day)
        for raw_field, raw_count in client.hscan_iter(key, match=pattern, count=SCAN_COUNT):
            parsed = _parse(raw_field, raw_count)
            if parsed is None:
                continue
            version_id, status, count = parsed
            day_usage.add(status, count)
            report.by_version.setdefault(version_id, DayUsage(day_usage.day)).add(status, count)


def _parse(raw_field: bytes | str, raw_count: bytes | str) -> tuple[int, int, int] | None:
    text = raw_field.decode() if isinstance(raw_field, bytes) else raw_field
    parts = text.split("|")
    try:
        return int(parts[1]), int(parts[2]), int(raw_count)
    except (IndexError, ValueError):
        # A malformed field from a buggy writer must not take the page down.
        return None


def day_field(app_id: int, version_id: int, status: int) -> str:
    """The hash field the gateways write for these ids (used by tests and fixtures)."""
    return f"{app_id}|{version_id}|{status}"


def day_key(day: date) -> str:
    return redis_key("usage", "d", day.strftime("%Y%m%d"))
