"""Usage aggregates for the portal's dashboards (contracts.md §4), flushed from the worker tick.

The request path adds to dicts keyed by tuples (`record()`); every `flush_every` seconds
`flush()` turns them into HINCRBY fields of the per-minute and per-day hashes, the latency
histogram fields, the minutes index and the keys' last use, all in one pipeline. The minute a
request belongs to is the one current at the last `tick()` (the worker ticks every second), so
no clock is read per request. If Redis is unreachable the counts are kept and merged into the
next flush (bounded: the oldest minutes are dropped past `max_minutes`).
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.client import Pipeline

log = logging.getLogger("gateway_runtime.usage")

LATENCY_LE_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
LE_LABELS = (*map(str, LATENCY_LE_MS), "inf")
MINUTE_TTL_S = 8 * 86400
DAY_TTL_S = 400 * 86400


class MinuteCounts:
    """Everything counted during one UTC minute."""

    __slots__ = ("minute", "epoch", "requests", "latency")

    def __init__(self, minute: str, epoch: float) -> None:
        self.minute = minute  # YYYYmmddHHMM
        self.epoch = epoch  # start of the minute
        self.requests: dict[tuple[int, int, int, int], int] = {}  # (version, route, app, status)
        self.latency: dict[tuple[int, int], int] = {}  # (version, bucket index)


def minute_of(now: float) -> tuple[str, float]:
    start = now - now % 60
    return time.strftime("%Y%m%d%H%M", time.gmtime(start)), start


class Usage:
    """Per-minute usage counters of one worker."""

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        flush_every: float = 5.0,
        max_minutes: int = 120,
    ) -> None:
        self.clock = clock
        self.flush_every = flush_every
        self.max_minutes = max_minutes
        self.last_error: str | None = None
        self._closed: list[MinuteCounts] = []
        self._current = MinuteCounts(*minute_of(clock()))
        self._keys: dict[str, float] = {}  # key prefix -> last use (epoch)
        self._now = clock()
        self._next_flush = self._now + flush_every

    def record(
        self,
        version_id: int,
        route_id: int,
        app_id: int,
        status: int,
        seconds: float,
        key_prefix: str | None,
    ) -> None:
        """Count one request (hot path: dict increments only)."""
        cur = self._current
        key = (version_id, route_id, app_id, status)
        cur.requests[key] = cur.requests.get(key, 0) + 1
        lat = (version_id, bisect.bisect_left(LATENCY_LE_MS, seconds * 1000.0))
        cur.latency[lat] = cur.latency.get(lat, 0) + 1
        if key_prefix is not None:
            self._keys[key_prefix] = self._now

    def tick(self, now: float | None = None) -> None:
        """Start a new minute when the clock moved into one (call every second)."""
        now = self.clock() if now is None else now
        self._now = now
        minute, start = minute_of(now)
        if minute != self._current.minute:
            if self._current.requests:
                self._closed.append(self._current)
                del self._closed[: -self.max_minutes]
            self._current = MinuteCounts(minute, start)

    async def flush(self, redis: Redis, prefix: str, *, force: bool = False) -> int:
        """Tick; every flush_every seconds write all counts in one pipeline (fields written)."""
        self.tick()
        if not force and self._now < self._next_flush:
            return 0
        self._next_flush = self._now + self.flush_every
        minutes = [*self._closed, self._current] if self._current.requests else list(self._closed)
        keys = self._keys
        if not minutes and not keys:
            return 0
        self._closed = []
        self._current = MinuteCounts(self._current.minute, self._current.epoch)
        self._keys = {}
        pipe = redis.pipeline(transaction=False)
        fields = sum(_queue(pipe, prefix, m) for m in minutes)
        if keys:
            pipe.hset(f"{prefix}:usage:keys", mapping=keys)  # type: ignore[arg-type]
            fields += len(keys)
        try:
            await pipe.execute()
        except Exception as exc:  # noqa: BLE001 - transport or server failure: keep the counts
            self._restore(minutes, keys)
            if self.last_error is None:  # once per outage, not every 5 s
                log.warning(
                    "usage flush failed: %s: %s (kept for the next flush)", type(exc).__name__, exc
                )
            self.last_error = f"usage flush failed: {type(exc).__name__}: {exc}"
            return 0
        if self.last_error is not None:
            log.info("usage flush: Redis reachable again")
        self.last_error = None
        return fields

    def _restore(self, minutes: list[MinuteCounts], keys: dict[str, float]) -> None:
        for old in minutes:
            if old.minute == self._current.minute:
                _merge(self._current, old)
            else:
                self._closed.append(old)
        self._closed.sort(key=lambda m: m.epoch)
        del self._closed[: -self.max_minutes]
        for prefix_, seen in keys.items():
            self._keys[prefix_] = max(seen, self._keys.get(prefix_, 0.0))


def _merge(into: MinuteCounts, other: MinuteCounts) -> None:
    for key, n in other.requests.items():
        into.requests[key] = into.requests.get(key, 0) + n
    for lkey, n in other.latency.items():
        into.latency[lkey] = into.latency.get(lkey, 0) + n


def _queue(pipe: Pipeline, prefix: str, m: MinuteCounts) -> int:
    """Queue the HINCRBYs of one minute; returns how many fields."""
    mkey = f"{prefix}:usage:m:{m.minute}"
    dkey = f"{prefix}:usage:d:{m.minute[:8]}"
    daily: dict[str, int] = {}
    for (version, route, app, status), n in m.requests.items():
        pipe.hincrby(mkey, f"r|{version}|{route}|{app}|{status}", n)
        dfield = f"{app}|{version}|{status}"
        daily[dfield] = daily.get(dfield, 0) + n
    for (version, idx), n in m.latency.items():
        pipe.hincrby(mkey, f"l|{version}|{LE_LABELS[idx]}", n)
    for dfield, n in daily.items():
        pipe.hincrby(dkey, dfield, n)
    pipe.expire(mkey, MINUTE_TTL_S)
    pipe.expire(dkey, DAY_TTL_S)
    pipe.zadd(f"{prefix}:usage:minutes", {m.minute: m.epoch})
    return len(m.requests) + len(m.latency) + len(daily)
