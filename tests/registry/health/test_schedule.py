"""The jitter: phases spread instances evenly over their interval."""

from __future__ import annotations

from collections import Counter

from registry.health.schedule import due_in, next_due, phase


def test_first_checks_of_a_thousand_instances_spread_over_100ms_slots() -> None:
    interval = 10.0
    slots = Counter(int(phase(instance_id, interval) / 0.1) for instance_id in range(1, 1001))
    assert len(slots) == 100  # every slot used
    mean = 1000 / 100
    assert max(slots.values()) <= 2 * mean


def test_ids_with_gaps_still_spread() -> None:
    ids = range(7, 7 + 3 * 2000, 3)
    slots = Counter(int(phase(i, 10.0) / 0.1) for i in ids)
    assert max(slots.values()) <= 2 * (2000 / 100)


def test_an_instance_is_due_once_per_interval() -> None:
    interval = 2.0
    due = [t for t in (due_in(5, interval, s / 10, s / 10 + 0.1) for s in range(200)) if t]
    assert len(due) == 10
    assert all(abs((b - a) - interval) < 1e-9 for a, b in zip(due, due[1:], strict=False))


def test_a_long_window_checks_an_instance_once() -> None:
    assert due_in(5, 1.0, 0.0, 30.0) == next_due(5, 1.0, 0.0)
    assert due_in(5, 10.0, 100.0, 100.0) is None
