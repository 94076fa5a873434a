"""The state machine with hysteresis (pure)."""

from __future__ import annotations

import itertools

from registry.health.state import HEALTHY, UNHEALTHY, UNKNOWN, judge


def run(results: list[bool], health: str = UNKNOWN, *, up: int = 2, down: int = 3) -> list[str]:
    states, streak = [], 0
    for ok in results:
        verdict = judge(
            health,
            streak,
            ok,
            "" if ok else "connect refused",
            healthy_after=up,
            unhealthy_after=down,
        )
        health, streak = verdict.health, verdict.streak
        states.append(health)
    return states


def test_unknown_becomes_healthy_only_after_the_healthy_threshold() -> None:
    assert run([True, True, True]) == [UNKNOWN, HEALTHY, HEALTHY]


def test_unknown_becomes_unhealthy_only_after_the_unhealthy_threshold() -> None:
    assert run([False, False, False]) == [UNKNOWN, UNKNOWN, UNHEALTHY]


def test_an_instance_alternating_pass_and_fail_never_changes_state() -> None:
    alternating = list(itertools.islice(itertools.cycle([True, False]), 40))
    assert set(run(alternating, HEALTHY)) == {HEALTHY}
    assert set(run(alternating, UNHEALTHY)) == {UNHEALTHY}
    assert set(run(alternating, UNKNOWN)) == {UNKNOWN}


def test_it_changes_at_most_once_per_threshold_run() -> None:
    pattern = [False, False, True, False, False, False, True, True, False, True, True]
    states = run(pattern, HEALTHY)
    changes = [i for i in range(1, len(states)) if states[i] != states[i - 1]]
    assert states[5] == UNHEALTHY and states[7] == HEALTHY
    assert changes == [5, 7]


def test_a_failure_reason_names_the_count_and_the_cause() -> None:
    verdict = judge(HEALTHY, -2, False, "connect refused", healthy_after=2, unhealthy_after=3)
    assert verdict.changed
    assert verdict.reason == "3 consecutive failures: connect refused"
    assert verdict.streak == -3


def test_a_threshold_of_one_moves_on_the_first_result() -> None:
    assert run([False, True], HEALTHY, up=1, down=1) == [UNHEALTHY, HEALTHY]
