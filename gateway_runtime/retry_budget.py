"""Retry budget, Envoy-like: retries may add at most `ratio` (20 %) to the requests of a window.

Without a budget, retries multiply load exactly when an upstream is struggling (every failed
request becomes two or three). With it, retries stay a bounded fraction of the traffic: over the
sliding window (10 one-second buckets) retries <= ratio x requests, plus a floor of
`min_per_second` retries in the current second so a quiet upstream can still retry at all.

The hot path only increments two integers; `tick(now)` (from the worker's 1 s tick) rotates the
buckets, so no clock is read per request.
"""

from __future__ import annotations


class RetryBudget:
    """Counts requests and retries in 1 s buckets; grants a retry while inside the budget."""

    def __init__(self, ratio: float = 0.2, min_per_second: int = 3, window_s: int = 10) -> None:
        if not 0.0 <= ratio <= 10.0:
            raise ValueError(f"retry budget ratio must be within 0..10, got {ratio}")
        if window_s < 1:
            raise ValueError(f"retry budget window_s must be >= 1, got {window_s}")
        self.ratio = ratio
        self.min_per_second = min_per_second
        self.window_s = window_s
        self._requests = [0] * window_s  # the current second's slot is filled when it ends
        # This second's requests: a C integer when compiled, so on_request() allocates nothing.
        self._requests_now = 0
        self._retries = [0] * window_s
        self._idx = 0
        # Sums of the buckets other than the current one, kept so try_retry() never loops.
        self._sum_requests = 0
        self._sum_retries = 0
        self._second: int | None = None
        self.denied = 0

    def on_request(self) -> None:
        """Count one client request forwarded upstream (not the retries)."""
        self._requests_now += 1

    def try_retry(self) -> bool:
        """True if one more retry fits the budget; the retry is then counted."""
        idx = self._idx
        retries_now = self._retries[idx]
        if retries_now >= self.min_per_second:
            requests = self._sum_requests + self._requests_now
            if self._sum_retries + retries_now + 1 > self.ratio * requests:
                self.denied += 1
                return False
        self._retries[idx] = retries_now + 1
        return True

    def tick(self, now: float) -> None:
        """Advance the window to the second `now` falls in (call at least once a second)."""
        second = int(now)
        if self._second is None:
            self._second = second
            return
        steps = min(second - self._second, self.window_s)
        for _ in range(max(steps, 0)):
            self._requests[self._idx] = self._requests_now
            self._requests_now = 0
            self._sum_requests += self._requests[self._idx]
            self._sum_retries += self._retries[self._idx]
            self._idx = (self._idx + 1) % self.window_s
            # The bucket we move into is the oldest one: it leaves the window.
            self._sum_requests -= self._requests[self._idx]
            self._sum_retries -= self._retries[self._idx]
            self._requests[self._idx] = 0
            self._retries[self._idx] = 0
        if second > self._second:
            self._second = second

    def totals(self) -> tuple[int, int]:
        """(requests, retries) inside the window, current second included."""
        return self._sum_requests + self._requests_now, self._sum_retries + self._retries[self._idx]
