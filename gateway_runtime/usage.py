"""Usage aggregates for the portal's dashboards (contracts.md §4), flushed from the worker tick.

The request path adds to per-minute counters (`record()`; C fields when compiled, usage.pxd);
every `flush_every` seconds `flush()` turns them into HINCRBY fields of the per-minute and per-day
hashes, the latency histogram fields, the minutes index and the keys' last use, all in one
pipeline. The minute a request belongs to is the one current at the last `tick()` (the worker
ticks every second), so no clock is read per request. If Redis is unreachable the counts are kept
and merged into the next flush (bounded: the oldest minutes are dropped past `max_minutes`).
"""

from __future__ import annotations

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
ZEROS = (0,) * (len(LATENCY_LE_MS) + 1)  # a fresh histogram: one count per bucket and inf
BOUNDS_MS = LATENCY_LE_MS  # what bucket_of() scans: a C array when compiled (usage.pxd)
MINUTE_TTL_S = 8 * 86400
DAY_TTL_S = 400 * 86400


class VersionLatency:
    """Latency histogram of one API version in one minute: a count per LATENCY_LE_MS bucket."""

    def __init__(self, version_id: int) -> None:
        self.version_id = version_id
        self.counts = list(ZEROS)

    def as_list(self) -> list[int]:
        return [self.counts[i] for i in range(len(LATENCY_LE_MS) + 1)]

    def add(self, other: VersionLatency) -> None:
        for i in range(len(LATENCY_LE_MS) + 1):
            self.counts[i] += other.counts[i]


class Cell:
    """One (version, route, app, status) count of a minute; it also holds its version's
    histogram, so a request that finds its cell needs no second lookup."""

    def __init__(
        self, version_id: int, route_id: int, app_id: int, status: int, lat: VersionLatency
    ) -> None:
        self.version_id = version_id
        self.route_id = route_id
        self.app_id = app_id
        self.status = status
        self.n = 0
        self.lat = lat


def slot_of(version_id: int, route_id: int, app_id: int, status: int, mask: int) -> int:
    """Where a cell's probe starts in MinuteCounts._slots (mixes the ids; C wraps, Python masks)."""
    h = version_id
    h = h * 0x7FEB352D + route_id
    h = h * 0x2C1B3C6D + app_id
    h = h * 0x7FEB352D + status
    return (h ^ (h >> 17)) & mask


def bucket_of(ms: float) -> int:
    """bisect_left(LATENCY_LE_MS, ms) by a scan: most requests stop at the first bound."""
    i = 0
    for bound in BOUNDS_MS:
        if not ms > bound:  # NaN lands in the first bucket, as with bisect
            return i
        i += 1
    return i


class MinuteCounts:
    """Everything counted during one UTC minute.

    The cells sit in an open-addressing table (linear probing, at most half full): a request
    that finds its cell compares four C fields instead of building and hashing tuple keys."""

    def __init__(self, minute: str, epoch: float) -> None:
        self.minute = minute  # YYYYmmddHHMM
        self.epoch = epoch  # start of the minute
        self._slots: list[Cell | None] = [None] * 16
        self._cells: list[Cell] = []  # first-seen order
        self._lat: dict[int, VersionLatency] = {}  # version id -> its histogram

    @property
    def requests(self) -> dict[tuple[int, int, int, int], int]:
        """(version, route, app, status) -> requests (a copy)."""
        return {(c.version_id, c.route_id, c.app_id, c.status): c.n for c in self._cells}

    @property
    def latency(self) -> dict[tuple[int, int], int]:
        """(version, bucket index) -> requests, buckets with none left out (a copy)."""
        out = {}
        for version, lat in self._lat.items():
            for idx, n in enumerate(lat.as_list()):
                if n:
                    out[(version, idx)] = n
        return out

    def counted(self) -> bool:
        return len(self._cells) > 0

    def cell(self, version_id: int, route_id: int, app_id: int, status: int) -> Cell:
        """The cell of these ids, made on first use."""
        slots = self._slots
        mask = len(slots) - 1
        i = slot_of(version_id, route_id, app_id, status, mask)
        c = slots[i]
        while c is not None and (
            c.route_id != route_id
            or c.app_id != app_id
            or c.status != status
            or c.version_id != version_id
        ):
            i = (i + 1) & mask
            c = slots[i]
        if c is None:
            c = self._new_cell(version_id, route_id, app_id, status)
        return c

    def _new_cell(self, version_id: int, route_id: int, app_id: int, status: int) -> Cell:
        lat = self._lat.get(version_id)
        if lat is None:
            lat = self._lat[version_id] = VersionLatency(version_id)
        c = Cell(version_id, route_id, app_id, status, lat)
        self._cells.append(c)
        if len(self._cells) * 2 > len(self._slots):
            self._slots = [None] * (len(self._slots) * 2)
            for old in self._cells:
                self._place(old)
        else:
            self._place(c)
        return c

    def _place(self, c: Cell) -> None:
        slots = self._slots
        mask = len(slots) - 1
        i = slot_of(c.version_id, c.route_id, c.app_id, c.status, mask)
        while slots[i] is not None:
            i = (i + 1) & mask
        slots[i] = c

    def merge(self, other: MinuteCounts) -> None:
        """Add another MinuteCounts of the same minute (counts kept over a failed flush)."""
        for oc in other._cells:
            c = self.cell(oc.version_id, oc.route_id, oc.app_id, oc.status)
            c.n += oc.n
        for version, olat in other._lat.items():
            lat = self._lat.get(version)
            if lat is None:
                lat = self._lat[version] = VersionLatency(version)
            lat.add(olat)


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
        """Count one request (hot path: a table probe and increments, one dict write per key)."""
        cell = self._current.cell(version_id, route_id, app_id, status)
        cell.n += 1
        cell.lat.counts[bucket_of(seconds * 1000.0)] += 1
        if key_prefix is not None:
            self._keys[key_prefix] = self._now

    def tick(self, now: float | None = None) -> None:
        """Start a new minute when the clock moved into one (call every second)."""
        now = self.clock() if now is None else now
        self._now = now
        minute, start = minute_of(now)
        if minute != self._current.minute:
            if self._current.counted():
                self._closed.append(self._current)
                del self._closed[: -self.max_minutes]
            self._current = MinuteCounts(minute, start)

    async def flush(self, redis: Redis, prefix: str, *, force: bool = False) -> int:
        """Tick; every flush_every seconds write all counts in one pipeline (fields written)."""
        self.tick()
        if not force and self._now < self._next_flush:
            return 0
        self._next_flush = self._now + self.flush_every
        minutes = [*self._closed, self._current] if self._current.counted() else list(self._closed)
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
                self._current.merge(old)
            else:
                self._closed.append(old)
        self._closed.sort(key=lambda m: m.epoch)
        del self._closed[: -self.max_minutes]
        for prefix_, seen in keys.items():
            self._keys[prefix_] = max(seen, self._keys.get(prefix_, 0.0))


def _queue(pipe: Pipeline, prefix: str, m: MinuteCounts) -> int:
    """Queue the HINCRBYs of one minute; returns how many fields."""
    mkey = f"{prefix}:usage:m:{m.minute}"
    dkey = f"{prefix}:usage:d:{m.minute[:8]}"
    daily: dict[str, int] = {}
    requests = m.requests
    latency = m.latency
    for (version, route, app, status), n in requests.items():
        pipe.hincrby(mkey, f"r|{version}|{route}|{app}|{status}", n)
        dfield = f"{app}|{version}|{status}"
        daily[dfield] = daily.get(dfield, 0) + n
    for (version, idx), n in latency.items():
        pipe.hincrby(mkey, f"l|{version}|{LE_LABELS[idx]}", n)
    for dfield, n in daily.items():
        pipe.hincrby(dkey, dfield, n)
    pipe.expire(mkey, MINUTE_TTL_S)
    pipe.expire(dkey, DAY_TTL_S)
    pipe.zadd(f"{prefix}:usage:minutes", {m.minute: m.epoch})
    return len(requests) + len(latency) + len(daily)
