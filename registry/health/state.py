"""The instance state machine with hysteresis (pure: no I/O).

`check_streak` counts consecutive results of one kind: +n passes or -n failures. Health
moves only when a streak reaches its threshold (healthy 2 / unhealthy 3 by default), so
an instance alternating pass/fail never changes state, and one that does change needs a
whole threshold run to change back. Draining is a separate flag set by operators and is
never touched here.
"""

from __future__ import annotations

from dataclasses import dataclass

HEALTHY, UNHEALTHY, UNKNOWN = "healthy", "unhealthy", "unknown"


@dataclass(frozen=True, slots=True)
class Verdict:
    health: str
    streak: int
    changed: bool
    reason: str


def next_streak(streak: int, ok: bool) -> int:
    if ok:
        return streak + 1 if streak > 0 else 1
    return streak - 1 if streak < 0 else -1


def judge(
    health: str, streak: int, ok: bool, reason: str, *, healthy_after: int, unhealthy_after: int
) -> Verdict:
    """Apply one result. `reason` is the failure reason of this result ("" on a pass)."""
    streak = next_streak(streak, ok)
    if ok and streak >= healthy_after and health != HEALTHY:
        return Verdict(HEALTHY, streak, True, _passes(streak))
    if not ok and -streak >= unhealthy_after and health != UNHEALTHY:
        return Verdict(UNHEALTHY, streak, True, _failures(-streak, reason))
    return Verdict(health, streak, False, "")


def _passes(count: int) -> str:
    return "1 successful check" if count == 1 else f"{count} consecutive successful checks"


def _failures(count: int, reason: str) -> str:
    head = "1 failed check" if count == 1 else f"{count} consecutive failures"
    return f"{head}: {reason}"[:300]
