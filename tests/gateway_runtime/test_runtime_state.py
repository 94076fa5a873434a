"""RuntimeState: candidates from health + draining + ejection, panic mode, slow start, the
concurrency limit, and state that survives a table swap."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest

from gateway_runtime.runtime_state import RuntimeState, UpstreamRuntime, parse_hash_on
from tests.gateway_runtime.policy_fixtures import Clock, instance, table, upstream


def picks(up: UpstreamRuntime, n: int = 3000) -> Counter[int]:
    got: Counter[int] = Counter()
    for _ in range(n):
        inst = up.acquire()
        assert inst is not None
        got[inst.id] += 1
        up.release(inst, 200)
    return got


def three(state: RuntimeState, **states: str) -> UpstreamRuntime:
    specs = [instance(i, state=states.get(f"i{i}", "healthy")) for i in (1, 2, 3)]
    state.sync(table(upstream("svc", *specs)))
    up = state.upstream("svc")
    assert up is not None
    return up


def test_only_healthy_or_unknown_non_draining_instances_take_traffic() -> None:
    up = three(RuntimeState(), i1="unknown", i3="draining")
    assert set(picks(up)) == {1, 2}


def test_a_newer_health_update_applies_and_an_older_one_is_ignored() -> None:
    state = RuntimeState()
    up = three(state)
    assert state.set_instance_state(2, "unhealthy", seq=10) is True
    assert set(picks(up)) == {1, 3}
    assert state.set_instance_state(2, "healthy", seq=9) is False  # a late, older message
    assert set(picks(up)) == {1, 3}
    assert state.set_instance_state(2, "healthy", seq=11) is True
    assert set(picks(up)) == {1, 2, 3}


def test_drain_through_the_health_channel_takes_effect_without_a_revision() -> None:
    state = RuntimeState()
    up = three(state)
    state.set_instance_state(3, "draining", seq=1)
    assert set(picks(up)) == {1, 2}


def test_the_overlay_survives_a_table_swap_and_reaches_new_instances() -> None:
    state = RuntimeState()
    three(state)
    state.set_instance_state(2, "unhealthy", seq=5)
    state.set_instance_state(4, "unhealthy", seq=6)  # instance 4 is not in the table yet
    state.sync(table(upstream("svc", *(instance(i) for i in (1, 2, 3, 4, 5)))))
    up = state.upstream("svc")
    assert up is not None
    assert set(picks(up)) == {1, 3, 5}


def test_in_flight_and_ejections_survive_a_swap() -> None:
    clock = Clock()
    state = RuntimeState(clock=clock)
    up = three(state)
    held = up.acquire()
    assert held is not None
    victim = up.by_id[1]
    for _ in range(5):
        victim.in_flight += 1
        up.in_flight += 1
        up.release(victim, "connect-error")
    state.sync(table(upstream("svc", instance(1), instance(2), instance(3, weight=5))))
    same = state.upstream("svc")
    assert same is up
    assert same.by_id[held.id] is held and held.in_flight == 1
    assert same.by_id[1].ejected_until > clock.now
    assert same.by_id[3].weight == 5
    same.release(held, 200)
    assert same.in_flight == 0


def test_removed_instances_and_upstreams_disappear() -> None:
    state = RuntimeState()
    three(state)
    state.sync(table(upstream("other", instance(10))))
    assert state.upstream("svc") is None
    other = state.upstream("other")
    assert other is not None and [i.id for i in other.instances] == [10]


def test_panic_mode_spreads_over_the_whole_pool_when_fewer_than_half_are_healthy() -> None:
    state = RuntimeState()
    up = three(state, i1="unhealthy", i2="unhealthy", i3="healthy")
    assert up.panic is True  # 1 of 3 healthy < 50 %
    assert set(picks(up)) == {1, 2, 3}
    state.set_instance_state(2, "healthy", seq=1)  # 2 of 3 healthy: normal again
    assert up.panic is False
    assert set(picks(up)) == {2, 3}


def test_panic_mode_never_sends_to_draining_instances() -> None:
    up = three(RuntimeState(), i1="unhealthy", i2="unhealthy", i3="draining")
    assert up.panic is True
    assert set(picks(up)) == {1, 2}


def test_an_all_draining_pool_has_nothing_to_pick() -> None:
    up = three(RuntimeState(), i1="draining", i2="draining", i3="draining")
    assert up.acquire() is None


def test_slow_start_ramps_a_returning_instance_over_thirty_seconds() -> None:
    clock = Clock()
    state = RuntimeState(clock=clock, default_balancer="round_robin", rng=random.Random(1))
    up = three(state, i3="unhealthy")
    state.set_instance_state(3, "healthy", seq=1)
    assert up.by_id[3].eff_weight == pytest.approx(0.1)
    share = picks(up, 2100)[3] / 2100
    assert share == pytest.approx(0.1 / 2.1, abs=0.01)
    state.tick(clock.advance(15.0))
    assert up.by_id[3].eff_weight == pytest.approx(0.5)
    state.tick(clock.advance(15.0))
    assert up.by_id[3].eff_weight == 1.0
    assert picks(up, 3000)[3] == pytest.approx(1000, abs=10)  # running totals carry over


def test_slow_start_also_ramps_under_the_default_least_request_balancer() -> None:
    clock = Clock()
    state = RuntimeState(clock=clock, rng=random.Random(9))
    up = three(state, i3="unhealthy")
    state.set_instance_state(3, "healthy", seq=1)
    assert picks(up, 21_000)[3] / 21_000 == pytest.approx(0.1 / 2.1, abs=0.01)
    state.tick(clock.advance(30.0))
    assert picks(up, 21_000)[3] / 21_000 == pytest.approx(1 / 3, abs=0.01)


def test_instances_present_at_the_first_sync_start_at_full_weight_but_later_additions_ramp() -> (
    None
):
    clock = Clock()
    state = RuntimeState(clock=clock)
    up = three(state)
    assert all(i.eff_weight == 1.0 for i in up.instances)
    state.sync(table(upstream("svc", *(instance(i) for i in (1, 2, 3, 4)))))
    assert up.by_id[4].eff_weight == pytest.approx(0.1)


def test_excess_concurrency_is_refused_at_once() -> None:
    state = RuntimeState(default_max_in_flight=2)
    state.sync(table(upstream("svc", instance(1), instance(2), max_in_flight=3)))
    up = state.upstream("svc")
    assert up is not None and up.max_in_flight == 3
    held = [up.acquire() for _ in range(3)]
    assert up.at_capacity() is True
    up.release(held[0], 200)  # type: ignore[arg-type]
    assert up.at_capacity() is False


def test_balancer_and_hash_key_come_from_the_upstream_spec() -> None:
    state = RuntimeState()
    state.sync(
        table(
            upstream(
                "svc",
                instance(1),
                instance(2),
                instance(3),
                balancer="maglev",
                hash_on="header:X-User-Id",
            )
        )
    )
    up = state.upstream("svc")
    assert up is not None
    assert up.balancer.name == "maglev"
    assert up.hash_on == ("header", b"x-user-id")
    first = up.acquire(b"alice")
    assert first is not None
    assert all(up.acquire(b"alice") is first for _ in range(20))


def test_hash_on_is_validated() -> None:
    assert parse_hash_on("ip") == ("ip", None)
    assert parse_hash_on("cookie:Session") == ("cookie", b"Session")
    assert parse_hash_on(None) is None
    with pytest.raises(ValueError, match="hash_on"):
        parse_hash_on("query:x")


def test_a_bad_hash_key_setting_never_fails_a_swap() -> None:
    state = RuntimeState()
    state.sync(table(upstream("svc", instance(1), balancer="maglev", hash_on="query:x")))
    up = state.upstream("svc")
    assert up is not None and up.hash_on is None
    assert up.acquire() is not None


def test_status_lists_states_and_ejected_hosts() -> None:
    clock = Clock()
    state = RuntimeState(clock=clock)
    up = three(state)
    inst = up.by_id[2]
    for _ in range(5):
        inst.in_flight += 1
        up.in_flight += 1
        up.release(inst, 502)
    status = state.snapshot()["svc"]
    assert status["panic"] is False
    rows = {row["id"]: row for row in status["instances"]}
    assert rows[2]["ejected"] is True
    assert rows[2]["ejection_reason"] == "5 consecutive 5xx responses (last 502)"
    assert rows[1]["state"] == "healthy"


def test_slow_start_does_not_move_hashed_keys() -> None:
    clock = Clock()
    state = RuntimeState(clock=clock)
    specs = [instance(i) for i in (1, 2, 3)]
    state.sync(table(upstream("svc", *specs, balancer="maglev", hash_on="ip")))
    up = state.upstream("svc")
    assert up is not None
    state.set_instance_state(2, "unhealthy", seq=1)
    state.set_instance_state(2, "healthy", seq=2)  # back: slow start begins
    before = {k: up.acquire(k.encode()) for k in ("a", "b", "c", "d", "e", "f")}
    state.tick(clock.advance(10.0))
    assert all(up.acquire(k.encode()) is inst for k, inst in before.items())


# -- over real sockets: health updates through the real test Redis steer a gateway's traffic ---


def test_a_gateway_stops_sending_to_an_unhealthy_instance_and_panics_below_half(
    redis_url: str, redis_client: Any, start_gateway: Any
) -> None:
    import time

    import orjson

    from tests.gateway_runtime import snapshots as snap
    from tests.gateway_runtime.conftest import http_get, wait_until
    from tests.gateway_runtime.upstreams import Upstream

    ups = [Upstream(f"u{i}").start() for i in range(3)]  # instance ids 1, 2, 3
    try:
        api = snap.api(
            1, "/svc/v1", [snap.route(1, "GET", "/echo", auth_mode="public")], auth_mode="public"
        )
        document = snap.snapshot([api], upstreams={"svc": snap.upstream([u.port for u in ups])})
        snap.publish(redis_client, document)
        gateway = start_gateway(redis=redis_url, workers=1)

        def health(instance: int, state: str, seq: int) -> None:
            update = {
                "instance": instance,
                "upstream": "svc",
                "state": state,
                "reason": "test",
                "since": time.time(),
                "seq": seq,
            }
            redis_client.hset("meshgate:health:states", str(instance), orjson.dumps(update))
            redis_client.publish("meshgate:health:updates", orjson.dumps(update))

        def served(n: int = 90) -> list[int]:
            before = [u.requests for u in ups]
            for _ in range(n):
                assert http_get(gateway.url + "/svc/v1/echo")[0] == 200
            return [u.requests - b for u, b in zip(ups, before, strict=True)]

        assert all(n > 10 for n in served())
        health(2, "unhealthy", 1)

        def states() -> dict[int, str]:
            rows = gateway.status()["upstreams"]["svc"]["instances"]
            return {row["id"]: row["state"] for row in rows}

        wait_until(lambda: states()[2] == "unhealthy", 1.0, message="the update within 1 s")
        assert served()[1] == 0
        health(3, "unhealthy", 2)  # 1 of 3 healthy: below the 50 % panic threshold
        wait_until(
            lambda: gateway.status()["upstreams"]["svc"]["panic"] is True, 1.0, message="panic mode"
        )
        assert all(n > 10 for n in served())
    finally:
        for u in ups:
            u.stop()
