"""The per-key arithmetic of the rate limiter: one limit dimension (Dim) and the Decision.

Decisions are shared objects: a Dim keeps the last one it made and hands it out again while
the numbers are the same, so a busy key under a high limit does not build header bytes per
request. To make that likely, a large RateLimit-Remaining is rounded down to 7 significant bits
(at most 1.6 % low; the figure is an estimate anyway, other workers' grants are not in it).
"""

from __future__ import annotations

import calendar
import math
import time


class Decision:
    """The outcome of one check; header_bytes goes straight into the response head."""

    def __init__(
        self, allowed: bool, limit: int, remaining: int, reset: int, status: int = 200
    ) -> None:
        self.allowed = allowed
        self.status = status
        # Problem type of a refusal: over the limit (429), or fail_closed while Redis is down (503).
        self.slug = "rate-limit-unavailable" if status == 503 else "rate-limited"
        self.limit = limit
        self.remaining = remaining
        self.reset = reset
        self.retry_after = 0 if allowed else reset
        if limit < 0:
            self.header_bytes = b""
        elif allowed:
            self.header_bytes = (
                b"RateLimit-Limit: %d\r\nRateLimit-Remaining: %d\r\nRateLimit-Reset: %d\r\n"
                % (limit, remaining, reset)
            )
        else:
            self.header_bytes = (
                b"RateLimit-Limit: %d\r\nRateLimit-Remaining: 0\r\nRateLimit-Reset: %d\r\n"
                b"Retry-After: %d\r\n" % (limit, reset, reset)
            )


UNLIMITED = Decision(True, -1, -1, 0)


class Dim:
    """One limit dimension of one key, as this worker holds it."""

    def __init__(
        self,
        kind: str,
        period: str,
        base: str,
        limit: int,
        rate: float,
        cap: float,
        ttl: int,
        interval: float,
    ) -> None:
        self.kind = kind  # "b" bucket | "w" window
        self.period = period  # "s" | "m" | "d" | "mo"
        self.base = base
        self.limit = limit
        self.rate = rate
        self.cap = cap
        self.ttl = ttl
        # Provisional allowance of a key this worker has not synced yet, so a new client's first
        # burst is not refused. Buckets: a quarter second of the rate; any excess becomes a debt
        # in Redis that later grants repay. Quotas: 1 % of the limit, at most 10 (an excess there
        # lasts the window; exhausted keys are kept until their window ends, see RateLimiter).
        if kind == "b":
            self.provisional = max(1, min(int(cap), math.ceil(rate * max(interval, 0.25))))
        else:
            self.provisional = max(1, min(10, math.ceil(limit * 0.01)))
        self.allow = self.provisional  # admitted while used < allow
        self.used = 0
        self.held = 0  # the grant received at the last sync
        self.left = limit - self.provisional  # what the store had left after our grant
        self.held_key = ""
        self.reset_at = 0.0
        self.sent = 0
        self._ok = UNLIMITED  # the last Decision made (placeholders until the first one)
        self._no = UNLIMITED

    def key_at(self, now: float) -> str:
        return self.base if self.kind == "b" else f"{self.base}:{window_id(self.period, now)}"

    def admitted(self, left: int, now: float) -> Decision:
        """The Decision for an admitted request with `left` estimated; reused when unchanged."""
        remaining = self.limit if left > self.limit else (left if left > 0 else 0)
        if remaining >= 128:  # keep 7 significant bits (shifts: a C long has no bit_length)
            shift = 0
            top = remaining >> 7
            while top:
                top >>= 1
                shift += 1
            remaining = remaining >> shift << shift
        reset = self.reset_in(now, remaining)
        last = self._ok
        if last.remaining == remaining and last.reset == reset:
            return last
        self._ok = last = Decision(True, self.limit, remaining, reset)
        return last

    def refused(self, now: float, status: int = 429) -> Decision:
        """The Decision for a refused request (429 over the limit, 503 fail_closed)."""
        reset = 1 if status == 503 else self.reset_in(now, 0)
        last = self._no
        if last.reset == reset and last.status == status:
            return last
        self._no = last = Decision(False, self.limit, 0, reset, status=status)
        return last

    def reset_in(self, now: float, remaining: int) -> int:
        if self.kind == "b":
            return 1 if remaining > 0 else max(1, _ceil((1 - min(self.left, 0)) / self.rate))
        return max(1, _ceil(self.reset_at - now))


def _ceil(x: float) -> int:
    """math.ceil of a finite float, in arithmetic Cython compiles to C."""
    n = int(x)
    return n + 1 if n < x else n


PERIOD_S = {"m": 60.0, "d": 86400.0, "mo": 31 * 86400.0}


def window_id(period: str, now: float) -> str:
    if period == "m":
        return str(int(now // 60))
    tm = time.gmtime(now)
    return (
        f"{tm.tm_year:04d}{tm.tm_mon:02d}{tm.tm_mday:02d}"
        if period == "d"
        else f"{tm.tm_year:04d}{tm.tm_mon:02d}"
    )


def window_end(period: str, now: float) -> float:
    if period == "m":
        return (now // 60 + 1) * 60
    tm = time.gmtime(now)
    if period == "d":
        return calendar.timegm((tm.tm_year, tm.tm_mon, tm.tm_mday, 0, 0, 0)) + 86400.0
    year, month = (tm.tm_year + 1, 1) if tm.tm_mon == 12 else (tm.tm_year, tm.tm_mon + 1)
    return float(calendar.timegm((year, month, 1, 0, 0, 0)))
