"""The route index: host, base path, template, method; 404 / 405 / 410; cost per segment only."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from gateway_runtime import routing as routing_module
from gateway_runtime.auth import Revocations
from gateway_runtime.config import compile as compile_module
from gateway_runtime.config.compile import compile_table
from gateway_runtime.config.table import Table
from gateway_runtime.proxy import request_line
from gateway_runtime.routing import NO_ROUTE, Gone, MethodNotAllowed, RouteIndex, RouteMatch
from tests.gateway_runtime import snapshots as snap


def _table(*apis: dict) -> Table:
    return compile_table(snap.snapshot(list(apis)), Revocations())


PETS = snap.api(
    1,
    "/petstore/v1",
    [
        snap.route(1, "GET", "/pets"),
        snap.route(2, "POST", "/pets"),
        snap.route(3, "GET", "/pets/{petId}"),
        snap.route(4, "DELETE", "/pets/{petId}"),
        snap.route(5, "GET", "/pets/mine"),
        snap.route(6, "GET", "/pets/{petId}/toys/{toyId}"),
        snap.route(7, "GET", "/"),
    ],
)


def test_it_matches_static_paths_and_methods():
    index = _table(PETS).routes
    result = index.match("api.test", "POST", "/petstore/v1/pets")
    assert isinstance(result, RouteMatch) and result.status == 200
    assert result.route.id == 2 and result.version.id == 1


def test_it_extracts_template_parameters_by_name():
    index = _table(PETS).routes
    result = index.match("x", "GET", "/petstore/v1/pets/42/toys/ball%20red")
    assert isinstance(result, RouteMatch)
    assert result.route.id == 6
    assert result.params == {"petId": "42", "toyId": "ball%20red"}


def test_a_static_segment_wins_over_a_parameter():
    index = _table(PETS).routes
    assert index.match("x", "GET", "/petstore/v1/pets/mine").route.id == 5
    assert index.match("x", "GET", "/petstore/v1/pets/other").route.id == 3


def test_it_backtracks_from_a_static_dead_end_to_the_parameter_branch():
    api = snap.api(1, "/b", [snap.route(1, "GET", "/a/fixed/x"), snap.route(2, "GET", "/a/{id}/y")])
    index = _table(api).routes
    assert index.match("x", "GET", "/b/a/fixed/y").params == {"id": "fixed"}


def test_values_captured_on_an_abandoned_branch_are_dropped():
    api = snap.api(
        1, "/b", [snap.route(1, "GET", "/a/s/{m}/d"), snap.route(2, "GET", "/a/{x}/{y}/c")]
    )
    result = _table(api).routes.match("x", "GET", "/b/a/s/q/c")
    assert result.route.id == 2 and result.params == {"x": "s", "y": "q"}


def test_unknown_path_is_404():
    index = _table(PETS).routes
    assert index.match("x", "GET", "/petstore/v1/cats") is NO_ROUTE
    assert index.match("x", "GET", "/elsewhere") is NO_ROUTE
    assert index.match("x", "GET", "/petstore/v1/pets/1/toys") is NO_ROUTE
    assert NO_ROUTE.status == 404


def test_known_path_with_other_method_is_405_with_allow():
    index = _table(PETS).routes
    result = index.match("x", "PATCH", "/petstore/v1/pets/9")
    assert isinstance(result, MethodNotAllowed) and result.status == 405
    assert result.allow == b"DELETE, GET, HEAD"


def test_head_is_served_by_the_get_route():
    assert _table(PETS).routes.match("x", "HEAD", "/petstore/v1/pets").route.id == 1


def test_base_path_root_and_trailing_slash():
    index = _table(PETS).routes
    assert index.match("x", "GET", "/petstore/v1").route.id == 7
    assert index.match("x", "GET", "/petstore/v1/").route.id == 7
    assert index.match("x", "GET", "/petstore/v1/pets/").route.id == 1


def test_retired_version_answers_410_on_any_path_below_it():
    retired = snap.api(2, "/petstore/v0", [snap.route(9, "GET", "/pets")], state="retired")
    index = _table(PETS, retired).routes
    for path in ("/petstore/v0/pets", "/petstore/v0/anything/else", "/petstore/v0"):
        result = index.match("x", "GET", path)
        assert isinstance(result, Gone) and result.status == 410 and result.version.id == 2
    assert index.match("x", "GET", "/petstore/v1/pets").status == 200


def test_a_host_bound_version_wins_for_its_host_and_any_host_serves_the_rest():
    bound = snap.api(2, "/petstore/v1", [snap.route(20, "GET", "/pets")], host="Partner.Example")
    index = _table(PETS, bound).routes
    assert index.match("partner.example:8443", "GET", "/petstore/v1/pets").route.id == 20
    assert index.match("PARTNER.example", "GET", "/petstore/v1/pets").route.id == 20
    assert index.match("other.example", "GET", "/petstore/v1/pets").route.id == 1
    # a path only the any-host version has still resolves for the bound host
    assert index.match("partner.example", "GET", "/petstore/v1/pets/3").route.id == 3


def test_deprecated_version_carries_deprecation_and_sunset_headers():
    old = snap.api(
        3,
        "/old/v1",
        [snap.route(30, "GET", "/x")],
        state="deprecated",
        sunset_at="2027-01-31T00:00:00Z",
    )
    version = _table(old).routes.match("x", "GET", "/old/v1/x").version
    assert version.extra_headers == (
        b"Deprecation: true\r\nSunset: Sun, 31 Jan 2027 00:00:00 GMT\r\n"
    )
    assert _table(PETS).versions[1].extra_headers == b""


def test_the_upstream_request_line_replaces_the_base_path():
    api = snap.api(1, "/shop/v2", [snap.route(1, "GET", "/items")], upstream_path="/internal/")
    version = _table(api).versions[1]
    assert request_line(b"GET", version, b"/shop/v2/items?q=1") == (
        b"GET /internal/items?q=1 HTTP/1.1\r\n"
    )
    assert request_line(b"PUT", version, b"/shop/v2?q=1") == b"PUT /internal/?q=1 HTTP/1.1\r\n"
    root = _table(snap.api(1, "/shop/v2", [], upstream_path="/")).versions[1]
    assert request_line(b"GET", root, b"/shop/v2/items") == b"GET /items HTTP/1.1\r\n"
    assert request_line(b"GET", root, b"/shop/v2") == b"GET / HTTP/1.1\r\n"


def test_two_routes_with_one_method_and_shape_are_refused():
    import pytest

    from gateway_runtime.config.compile import ConfigError

    api = snap.api(1, "/a", [snap.route(1, "GET", "/p/{x}"), snap.route(2, "GET", "/p/{y}")])
    with pytest.raises(ConfigError, match="routes 1 and 2"):
        _table(api)


def _index_with(route_count: int) -> tuple[RouteIndex, int]:
    per_version = 10
    apis = [
        snap.api(
            v,
            f"/api{v}/v1",
            [
                snap.route(v * 100 + i, "GET", f"/things{i}/{{id}}/parts")
                for i in range(per_version)
            ],
        )
        for v in range(1, route_count // per_version + 1)
    ]
    table = _table(*apis)
    return table.routes, table.route_count


class _CountingDict(dict):
    """A trie node's children, counting lookups: the unit of work of a match."""

    lookups = 0

    def get(self, key, default=None):  # type: ignore[no-untyped-def, override]
        _CountingDict.lookups += 1
        return super().get(key, default)


def _instrument(node) -> None:  # type: ignore[no-untyped-def]
    node.static = _CountingDict(node.static)
    for child in node.static.values():
        _instrument(child)
    if node.param is not None:
        _instrument(node.param)


def _plain_routing(monkeypatch):  # type: ignore[no-untyped-def]
    """routing.py run as plain Python whichever build the suite runs, and compile_table made to
    build its index: compiled, the trie's dicts are typed and read through the C API, so an
    instrumented dict could not be put in."""
    source = Path(routing_module.__file__).with_name("routing.py")
    spec = importlib.util.spec_from_file_location("_routing_plain", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    monkeypatch.setattr(compile_module, "RouteIndex", module.RouteIndex)
    return module


def test_lookup_work_does_not_grow_with_the_number_of_routes(monkeypatch):
    """Same request at 10 and at 10,000 routes: the same number of dict lookups (the base
    path once, then one per static segment: a node with only a parameter child needs none)."""
    plain = _plain_routing(monkeypatch)
    costs = {}
    for count in (10, 10_000):
        index, built = _index_with(count)
        assert isinstance(index, plain.RouteIndex) and built == count
        _instrument(index._root)
        for host in index._hosts.values():
            host.mounts = _CountingDict(host.mounts)
        _CountingDict.lookups = 0
        result = index.match("x", "GET", "/api1/v1/things7/abc/parts")
        assert result.route.id == 107 and result.params == {"id": "abc"}
        costs[count] = _CountingDict.lookups
    assert costs[10] == costs[10_000] == 3  # base path + things7 + parts, whatever the count


def test_versions_share_template_nodes():
    """10,000 routes over 1,000 versions with the same ten shapes: ten shapes in the trie."""
    index, _ = _index_with(10_000)

    def count(node) -> int:  # type: ignore[no-untyped-def]
        children = list(node.static.values()) + ([node.param] if node.param else [])
        return 1 + sum(count(child) for child in children)

    assert count(index._root) == 31  # root + 10 x (things<i>, {id}, parts)


def test_a_deeper_mount_without_the_route_falls_back_to_a_shallower_one():
    outer = snap.api(1, "/a", [snap.route(1, "GET", "/{x}/y")])
    inner = snap.api(2, "/a/b", [snap.route(2, "GET", "/z")])
    index = _table(outer, inner).routes
    assert index.match("h", "GET", "/a/b/z").route.id == 2
    assert index.match("h", "GET", "/a/b/y").params == {"x": "b"}
    assert index.match("h", "GET", "/a/b/q") is NO_ROUTE


def test_a_shape_of_another_version_is_not_a_route_of_this_one():
    one = snap.api(1, "/one", [snap.route(1, "GET", "/items/new")])
    two = snap.api(2, "/two", [snap.route(2, "GET", "/items/{id}")])
    index = _table(one, two).routes
    assert index.match("h", "GET", "/two/items/new").route.id == 2
    assert index.match("h", "GET", "/one/items/7") is NO_ROUTE


def test_routing_outcomes_through_a_running_gateway(start_gateway, ok_upstream, tmp_path):
    """404, 405 + Allow, 410, Deprecation/Sunset and parameter paths over real sockets."""
    from tests.gateway_runtime.conftest import http_get

    public = {"auth_mode": "public"}
    document = snap.snapshot(
        [
            snap.api(1, "/shop/v1", [snap.route(1, "GET", "/items/{id}", **public)], **public),
            snap.api(2, "/shop/v0", [], state="retired", **public),
            snap.api(
                3,
                "/shop/beta",
                [snap.route(3, "GET", "/items", **public)],
                state="deprecated",
                sunset_at="2027-03-01T00:00:00Z",
                **public,
            ),
        ],
        upstreams={"svc": snap.upstream([ok_upstream])},
    )
    path = tmp_path / "snapshot.json"
    path.write_bytes(snap.encode(document))
    gateway = start_gateway(config=path)

    assert http_get(gateway.url + "/shop/v1/items/42")[0::2] == (200, b"ok /items/42")
    status, _, body = http_get(gateway.url + "/shop/v1/nothing")
    assert status == 404 and b"/problems/no-route" in body
    status, headers, _ = http_get(gateway.url + "/shop/v1/items/42", method="DELETE")
    assert status == 405 and headers["allow"] == "GET, HEAD"
    status, _, body = http_get(gateway.url + "/shop/v0/items/1")
    assert status == 410 and b"/problems/gone" in body
    status, headers, _ = http_get(gateway.url + "/shop/beta/items")
    assert status == 200
    assert headers["Deprecation"] == "true"
    assert headers["Sunset"] == "Mon, 01 Mar 2027 00:00:00 GMT"


def test_raw_lookups_answer_like_match_and_are_remembered_per_revision():
    index = _table(PETS).routes
    first = index.match_raw(b"api.test:8080", b"GET", b"/petstore/v1/pets/42")
    assert first.route.id == 3 and first.params == {"petId": "42"}
    assert index.match_raw(b"api.test:8080", b"GET", b"/petstore/v1/pets/42") is first
    assert index.match_raw(b"x", b"PATCH", b"/petstore/v1/pets/42").status == 405
    assert index.match_raw(b"x", b"GET", b"/nowhere") is NO_ROUTE
    other_revision = _table(PETS).routes
    again = other_revision.match_raw(b"api.test:8080", b"GET", b"/petstore/v1/pets/42")
    assert again is not first and again.route.id == 3


def test_the_raw_lookup_memory_stays_bounded_under_random_paths():
    from gateway_runtime import routing

    index = _table(PETS).routes
    for n in range(routing.SEEN_MAX * 2 + 7):
        assert index.match_raw(b"x", b"GET", b"/petstore/v1/pets/%d" % n).route.id == 3
    assert 0 < len(index._seen) <= routing.SEEN_MAX


def test_raw_lookups_of_one_path_under_several_hosts_and_methods_stay_apart():
    from gateway_runtime import routing

    index = _table(
        PETS, snap.api(2, "/petstore/v1", [snap.route(8, "GET", "/pets")], host="b.test")
    ).routes
    path = b"/petstore/v1/pets"
    for _ in range(2):
        assert index.match_raw(b"b.test", b"GET", path).route.id == 8
        assert index.match_raw(b"a.test", b"GET", path).route.id == 1
        assert index.match_raw(b"a.test", b"POST", path).route.id == 2
        assert index.match_raw(b"a.test", b"PUT", path).status == 405
    for n in range(routing.SEEN_CHAIN * 3):  # a scanner varying the Host of one path
        assert index.match_raw(b"h%d" % n, b"GET", path).route.id == 1
    assert index._seen[path].depth <= routing.SEEN_CHAIN
    assert index.match_raw(b"b.test", b"GET", path).route.id == 8


def test_a_head_route_of_its_own_wins_and_head_without_get_is_405():
    api = snap.api(
        1,
        "/h",
        [snap.route(1, "GET", "/a"), snap.route(2, "HEAD", "/a"), snap.route(3, "POST", "/b")],
    )
    index = _table(api).routes
    assert index.match("x", "HEAD", "/h/a").route.id == 2
    assert index.match("x", "GET", "/h/a").route.id == 1
    result = index.match("x", "HEAD", "/h/b")
    assert isinstance(result, MethodNotAllowed) and result.allow == b"POST"
    assert index.match("x", "GET", "/h/b").allow == b"POST"


def test_each_match_carries_its_own_values_and_a_static_one_none():
    index = _table(PETS).routes
    first = index.match("x", "GET", "/petstore/v1/pets/1")
    second = index.match("x", "GET", "/petstore/v1/pets/2")
    assert (first.values, second.values) == (("1",), ("2",))
    assert first.route is second.route and first.auth_mode == second.auth_mode == "key"
    assert first.version_id == 1
    static = index.match("x", "GET", "/petstore/v1/pets/mine")
    assert static.values == () and static.params == {} and static.route.id == 5


def test_a_path_without_its_leading_slash_or_with_empty_segments():
    index = _table(PETS).routes
    assert index.match("x", "GET", "petstore/v1/pets").route.id == 1
    assert index.match("x", "GET", "").status == 404
    # an empty segment is never a parameter value
    assert index.match("x", "GET", "/petstore/v1/pets//") is NO_ROUTE
    assert index.match("x", "GET", "/petstore/v1//toys/1") is NO_ROUTE


def test_an_ipv6_literal_host_with_and_without_a_port():
    bound = snap.api(2, "/petstore/v1", [snap.route(20, "GET", "/pets")], host="[::1]")
    index = _table(PETS, bound).routes
    assert index.match("[::1]:8443", "GET", "/petstore/v1/pets").route.id == 20
    assert index.match("[::1]", "GET", "/petstore/v1/pets").route.id == 20
    assert index.match("[::2]", "GET", "/petstore/v1/pets").route.id == 1
    assert index.match_raw(b"[::1]:80", b"GET", b"/petstore/v1/pets").route.id == 20
