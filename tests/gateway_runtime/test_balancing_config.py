"""A service's balancing settings from the snapshot, through real gateway processes and upstreams:
consistent hashing on a header, round robin, and the per-upstream concurrency limit."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.gateway_runtime.conftest import wait_until
from tests.gateway_runtime.proxy_harness import proxy_document
from tests.gateway_runtime.rawhttp import RawClient
from tests.gateway_runtime.snapshots import encode, stamp
from tests.gateway_runtime.upstreams import Upstream


@pytest.fixture
def three_upstreams() -> Iterator[list[Upstream]]:
    ups = [Upstream(f"u{i}").start() for i in range(3)]
    yield ups
    for up in ups:
        up.stop()


def _config(tmp_path: Path, ups: list[Upstream], **balancing: Any) -> Path:
    document = proxy_document([u.port for u in ups])
    document["upstreams"]["svc"].update(balancing)
    path = tmp_path / "snapshot.json"
    path.write_bytes(encode(stamp(document, 1)))
    return path


def _served_by(port: int, headers: dict[str, str] | None = None) -> str:
    # A new connection per request: with 2 workers, SO_REUSEPORT spreads them over both.
    with RawClient(port) as client:
        response = client.request("GET", "/svc/v1/echo", headers)
    assert response.status == 200, response.body[:200]
    return response.headers["x-upstream"]


def test_consistent_hash_on_a_header_sends_each_user_to_the_same_instance_every_time(
    tmp_path: Path, three_upstreams: list[Upstream], start_gateway: Callable[..., Any]
) -> None:
    config = _config(tmp_path, three_upstreams, balancer="maglev", hash_on="header:X-User")
    gateway = start_gateway(config=config, workers=2)
    users = [f"user-{n}" for n in range(30)]

    seen: dict[str, set[str]] = {user: set() for user in users}
    for _round in range(4):
        for user in users:
            # The header name matches whatever its case in the request.
            name = "X-User" if _round % 2 else "x-user"
            seen[user].add(_served_by(gateway.port, {name: user}))

    assert all(len(instances) == 1 for instances in seen.values()), seen
    spread = Counter(next(iter(instances)) for instances in seen.values())
    assert len(spread) == 3, spread  # 30 users over 3 equal instances: each gets some
    assert gateway.status()["upstreams"]["svc"]["balancer"] == "maglev"
    # A request without the header is still served (by least request).
    assert _served_by(gateway.port) in {"u0", "u1", "u2"}


def test_round_robin_from_the_snapshot_takes_the_instances_in_turn(
    tmp_path: Path, three_upstreams: list[Upstream], start_gateway: Callable[..., Any]
) -> None:
    gateway = start_gateway(config=_config(tmp_path, three_upstreams, balancer="round_robin"))

    with RawClient(gateway.port) as client:
        order = [client.request("GET", "/svc/v1/echo").headers["x-upstream"] for _ in range(30)]

    assert Counter(order) == {"u0": 10, "u1": 10, "u2": 10}
    assert len(set(order[:3])) == 3  # interleaved, not in blocks


def test_max_in_flight_from_the_snapshot_turns_the_excess_away_at_once(
    tmp_path: Path, three_upstreams: list[Upstream], start_gateway: Callable[..., Any]
) -> None:
    gateway = start_gateway(config=_config(tmp_path, three_upstreams, max_in_flight=1))
    slow: list[int] = []

    def hold_the_only_slot() -> None:
        with RawClient(gateway.port) as client:
            slow.append(client.request("GET", "/svc/v1/sleep/1.5").status)

    holder = threading.Thread(target=hold_the_only_slot)
    holder.start()
    try:
        wait_until(
            lambda: sum(u.requests for u in three_upstreams) == 1, 5.0, message="the slow request"
        )
        with RawClient(gateway.port) as client:
            refused = client.request("GET", "/svc/v1/echo")
    finally:
        holder.join(10)

    assert refused.status == 503 and b"overloaded" in refused.body
    assert slow == [200]
    assert _served_by(gateway.port) in {"u0", "u1", "u2"}  # free again once it finished
