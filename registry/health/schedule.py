"""When each instance is checked: a fixed phase inside its interval (the jitter).

An instance's checks fall at `phase + k * interval` (epoch seconds). The phase is
`frac(id * golden ratio + salt) * interval`: uncorrelated with registration order, like a
random offset, but a low-discrepancy sequence, so 1,000 instances registered together
land in 1,000 different places of the interval instead of clumping the way independent
random draws do (the benchmark's max/mean 100 ms slot load comes from this). It needs no
stored state, so a worker that takes over a shard keeps the same rhythm.
"""

from __future__ import annotations

import math

_GOLDEN = (math.sqrt(5) - 1) / 2
_SALT = 0.1234


def phase(instance_id: int, interval: float) -> float:
    """Offset in seconds, in [0, interval), of the instance's checks within each interval."""
    return ((instance_id * _GOLDEN + _SALT) % 1.0) * interval


def next_due(instance_id: int, interval: float, start: float) -> float:
    """The first check time at or after `start`."""
    offset = phase(instance_id, interval)
    k = math.ceil((start - offset) / interval)
    return offset + k * interval


def due_in(instance_id: int, interval: float, start: float, end: float) -> float | None:
    """The check time inside [start, end), or None. At most one per window, even when
    the window is longer than the interval (catching up after an outage)."""
    due = next_due(instance_id, interval, start)
    return due if due < end else None
