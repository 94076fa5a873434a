"""A service's load-balancing settings reach the gateway's balancer as the registry set them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from gateway_runtime.auth import Revocations
from gateway_runtime.balancer import LeastRequestP2C, MaglevHash, SmoothWeightedRoundRobin
from gateway_runtime.config.compile import compile_table
from gateway_runtime.contract.canonical import content_checksum
from gateway_runtime.contract.validate import validate_snapshot
from gateway_runtime.runtime_state import RuntimeState, UpstreamRuntime
from portal.publishing.compiler import compile_snapshot
from registry.services.services import create_service, update_service

FIXTURE = Path(__file__).with_name("fixtures") / "snapshot.json"


def _fixture() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


def _runtime(document: dict[str, Any]) -> RuntimeState:
    runtime = RuntimeState()
    runtime.sync(compile_table(document, Revocations()))
    return runtime


def _upstream(runtime: RuntimeState, slug: str) -> UpstreamRuntime:
    upstream = runtime.upstream(slug)
    assert upstream is not None
    return upstream


def test_a_consistent_hash_service_reaches_the_gateways_maglev_balancer_with_its_header() -> None:
    runtime = _runtime(_fixture())

    pets = _upstream(runtime, "pets")
    assert isinstance(pets.balancer, MaglevHash)
    assert pets.hash_on == ("header", b"x-user")  # header names are matched lower-cased
    assert pets.max_in_flight == 100
    healthy = pets.by_id[1]  # the other instance is draining
    assert [pets.acquire(b"alice") for _ in range(3)] == [healthy] * 3


def test_a_service_with_default_balancing_gets_least_request_and_the_gateway_limit() -> None:
    spare = _upstream(_runtime(_fixture()), "spare")

    assert isinstance(spare.balancer, LeastRequestP2C)
    assert spare.hash_on is None and spare.max_in_flight == 1024


def test_a_snapshot_without_balancing_fields_gets_the_defaults() -> None:
    document = _fixture()
    for field in ("balancer", "hash_on", "max_in_flight"):
        del document["upstreams"]["pets"][field]
    document["checksum"] = content_checksum(document)

    pets = _upstream(_runtime(document), "pets")

    assert isinstance(pets.balancer, LeastRequestP2C)
    assert pets.hash_on is None and pets.max_in_flight == 1024


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("settings", "balancer", "hash_on"),
    [
        ({"lb_algorithm": "round_robin"}, SmoothWeightedRoundRobin, None),
        (
            {"lb_algorithm": "consistent_hash", "hash_on": "cookie", "hash_key": "sid"},
            MaglevHash,
            ("cookie", b"sid"),
        ),
        ({"lb_algorithm": "consistent_hash", "hash_on": "ip"}, MaglevHash, ("ip", None)),
    ],
)
def test_each_registry_setting_compiles_to_the_balancer_the_gateway_reads(
    oscar: Any, settings: dict[str, Any], balancer: type, hash_on: Any
) -> None:
    service = create_service(actor=oscar, name="Orders", slug="orders", max_in_flight=7)
    update_service(service, actor=oscar, **settings)
    document = dict(compile_snapshot())

    orders = _upstream(_runtime(document), "orders")

    assert type(orders.balancer) is balancer
    assert orders.hash_on == hash_on and orders.max_in_flight == 7


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"balancer": "random"}, "$.upstreams.pets.balancer: 'random' is not one of"),
        ({"hash_on": "header:X User"}, "$.upstreams.pets.hash_on: 'header:X User'"),
        ({"hash_on": "body"}, "$.upstreams.pets.hash_on: 'body'"),
        ({"max_in_flight": 0}, "$.upstreams.pets.max_in_flight: 0"),
    ],
)
def test_the_gateway_refuses_a_snapshot_with_bad_balancing(
    change: dict[str, Any], expected: str
) -> None:
    document = copy.deepcopy(_fixture())
    document["upstreams"]["pets"].update(change)
    document["checksum"] = content_checksum(document)

    problems = validate_snapshot(document)

    assert any(problem.startswith(expected) for problem in problems), problems
