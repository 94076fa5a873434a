"""The benchmark's snapshot is one the real gateway serves, with keys the portal would accept."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import route_lookup_bench  # noqa: E402
import snapshot_gen  # noqa: E402

from apis.services.keys import hash_api_key, key_prefix  # noqa: E402
from gateway_runtime.auth import Revocations, authenticate  # noqa: E402
from gateway_runtime.config.compile import compile_table  # noqa: E402
from gateway_runtime.contract.validate import validate_snapshot  # noqa: E402


@pytest.fixture(scope="module")
def document() -> dict:
    return snapshot_gen.generate_snapshot(routes=1000, keys=10_000, upstream_ports=[18081, 18082])


def test_it_generates_a_schema_valid_snapshot_of_the_benchmark_size(document: dict) -> None:
    assert validate_snapshot(document) == []
    assert sum(len(entry["routes"]) for entry in document["apis"]) == 1000
    assert len(document["consumers"]["keys"]) == 10_000
    instances = document["upstreams"][snapshot_gen.UPSTREAM]["instances"]
    assert [i["port"] for i in instances] == [18081, 18082]


def test_its_keys_follow_the_portals_key_rule(document: dict) -> None:
    for index in (0, 1, 4321, 9999):
        raw = snapshot_gen.raw_key(index)
        prefix = key_prefix(raw)
        assert prefix == snapshot_gen.key_prefix(index)
        assert document["consumers"]["keys"][prefix]["sha256"] == hash_api_key(raw)


def test_every_bench_request_is_routed_and_authenticated_by_the_gateway(document: dict) -> None:
    table = compile_table(document, Revocations())
    requests = snapshot_gen.bench_requests(document, 256, 10_000)
    assert len({r.key for r in requests}) == 256
    for request in requests:
        match = table.routes.match("127.0.0.1:8080", "GET", request.path)
        assert match.status == 200, request.path
        principal = authenticate(table, match.route, request.key, None, None, time.time())
        assert principal.plan_id == 1
        assert table.plans[1].rps == snapshot_gen.HIGH_LIMIT


def test_route_lookup_paths_all_match_at_10_and_10000_routes() -> None:
    for routes in (10, 10_000):
        index, document = route_lookup_bench.build_index(routes)
        assert index.route_count == routes
        paths = route_lookup_bench.lookup_paths(document)
        assert all(index.match("h", "GET", path).status == 200 for path in paths)
