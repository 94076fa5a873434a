"""Balancer distributions (pure, synchronous): the figures the issue asks for."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

import mmh3
import pytest

from gateway_runtime.balancer import (
    LeastRequestP2C,
    MaglevHash,
    SmoothWeightedRoundRobin,
    build_maglev,
    maglev_size,
    make_balancer,
)

PICKS = 100_000


@dataclass(eq=False)
class Host:
    id: int
    eff_weight: float = 1.0
    in_flight: int = 0


def shares(balancer, picks: int = PICKS, key=None) -> dict[int, float]:  # type: ignore[no-untyped-def]
    counts = Counter(balancer.pick(key).id for _ in range(picks))
    return {host_id: n / picks for host_id, n in counts.items()}


def test_round_robin_splits_three_equal_hosts_within_one_percent() -> None:
    rr = SmoothWeightedRoundRobin()
    rr.update([Host(1), Host(2), Host(3)])
    got = shares(rr)
    assert set(got) == {1, 2, 3}
    for share in got.values():
        assert share == pytest.approx(1 / 3, abs=0.01)


def test_round_robin_follows_weights_two_to_one_within_one_percent() -> None:
    rr = SmoothWeightedRoundRobin()
    rr.update([Host(1, 2.0), Host(2, 1.0)])
    got = shares(rr)
    assert got[1] == pytest.approx(2 / 3, abs=0.01)
    assert got[2] == pytest.approx(1 / 3, abs=0.01)


def test_round_robin_interleaves_smoothly() -> None:
    rr = SmoothWeightedRoundRobin()
    rr.update([Host(1, 5.0), Host(2, 1.0), Host(3, 1.0)])
    assert [rr.pick().id for _ in range(7)] == [1, 1, 2, 1, 3, 1, 1]  # nginx's documented sequence


def test_round_robin_skips_the_excluded_host() -> None:
    a, b = Host(1), Host(2)
    rr = SmoothWeightedRoundRobin()
    rr.update([a, b])
    assert all(rr.pick(exclude=a) is b for _ in range(10))


def test_p2c_gives_a_host_with_ten_in_flight_about_eleven_percent() -> None:
    busy = Host(1, in_flight=10)
    p2c = LeastRequestP2C(random.Random(7))
    p2c.update([busy, Host(2), Host(3)])
    got = shares(p2c)
    assert got[1] == pytest.approx(1 / 9, abs=0.01)  # drawn twice in a row: 1/3 * 1/3
    assert got[2] == pytest.approx(4 / 9, abs=0.01)


def test_p2c_spreads_idle_equal_hosts_evenly() -> None:
    p2c = LeastRequestP2C(random.Random(1))
    p2c.update([Host(1), Host(2), Host(3)])
    for share in shares(p2c).values():
        assert share == pytest.approx(1 / 3, abs=0.01)


def test_p2c_follows_weights_when_idle() -> None:
    p2c = LeastRequestP2C(random.Random(3))
    p2c.update([Host(1, 2.0), Host(2, 1.0)])
    got = shares(p2c)
    # Idle hosts: drawn by weight alone.
    assert got[1] == pytest.approx(2 / 3, abs=0.01)


def test_p2c_never_returns_the_excluded_host() -> None:
    a, b, c = Host(1), Host(2), Host(3)
    p2c = LeastRequestP2C(random.Random(5))
    p2c.update([a, b, c])
    picked = {p2c.pick(exclude=a).id for _ in range(5000)}
    assert picked == {2, 3}


def test_p2c_with_no_candidates_returns_none() -> None:
    p2c = LeastRequestP2C()
    p2c.update([])
    assert p2c.pick() is None


def keys(n: int = PICKS) -> list[str]:
    return [f"user-{i}" for i in range(n)]


def test_maglev_removing_one_of_ten_hosts_remaps_at_most_twelve_percent() -> None:
    hosts = [Host(100 + i) for i in range(10)]
    maglev = MaglevHash()
    maglev.update(hosts)
    before = {k: maglev.pick(k).id for k in keys()}
    for removed in (0, 4, 9):
        maglev.update([h for h in hosts if h.id != 100 + removed])
        moved = sum(1 for k, host_id in before.items() if maglev.pick(k).id != host_id)
        assert 0.09 <= moved / len(before) <= 0.12, (removed, moved)
        maglev.update(hosts)
        assert all(
            maglev.pick(k).id == before[k] for k in list(before)[:2000]
        )  # restored: same map


def test_maglev_keys_are_sticky_and_spread_evenly() -> None:
    maglev = MaglevHash()
    maglev.update([Host(1), Host(2), Host(3)])
    assert {maglev.pick("alice").id for _ in range(50)} == {maglev.pick("alice").id}
    counts = Counter(maglev.pick(k).id for k in keys())
    for n in counts.values():
        assert n / PICKS == pytest.approx(1 / 3, abs=0.02)


def test_maglev_weights_shape_the_table() -> None:
    size = maglev_size(2)
    table = build_maglev(["1", "2"], [2.0, 1.0], size)
    assert table.count(0) / size == pytest.approx(2 / 3, abs=0.01)


def test_maglev_retry_goes_to_another_host_and_keyless_requests_still_balance() -> None:
    a, b = Host(1), Host(2)
    maglev = MaglevHash(random.Random(2))
    maglev.update([a, b])
    first = maglev.pick(b"key-1")
    assert maglev.pick(b"key-1", exclude=first) is not first
    assert {maglev.pick(None).id for _ in range(200)} == {1, 2}


def test_maglev_hash_matches_mmh3_slot() -> None:
    hosts = [Host(i) for i in range(1, 4)]
    maglev = MaglevHash()
    maglev.update(hosts)
    size = maglev_size(3)
    table = build_maglev(["1", "2", "3"], [1.0] * 3, size)
    assert maglev.pick("k").id == hosts[table[mmh3.hash("k", signed=False) % size]].id


def test_unknown_policy_names_get_least_request() -> None:
    assert make_balancer("nonsense").name == "least_request"
    assert make_balancer("round_robin").name == "round_robin"
    assert make_balancer("maglev").name == "maglev"


def test_weighted_least_request_draws_a_loaded_heavy_host_less() -> None:
    p2c = LeastRequestP2C(random.Random(4))
    p2c.update([Host(1, 2.0, in_flight=3), Host(2, 1.0)])
    got = shares(p2c)
    assert got[1] == pytest.approx((2 / 4) / (2 / 4 + 1), abs=0.01)  # 2/(3+1) against 1/(0+1)
