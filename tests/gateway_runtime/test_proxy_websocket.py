"""WebSocket upgrade passthrough: the gateway relays the 101 and becomes a byte tunnel."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from websockets.sync.client import connect

from tests.gateway_runtime.proxy_harness import spawn_gateway, write_proxy_config
from tests.gateway_runtime.rawhttp import RawClient
from tests.gateway_runtime.upstreams import Upstream, WsUpstream


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, WsUpstream]]:
    tmp = tmp_path_factory.mktemp("gw-ws")
    ws = WsUpstream().start()
    with Upstream("a") as up:
        gw = spawn_gateway(
            tmp, write_proxy_config(tmp / "snapshot.json", [up.port], ws_port=ws.port)
        )
        yield gw, ws
        gw.stop()
    ws.stop()


def test_a_websocket_session_passes_through_both_ways(gateway: tuple[Any, WsUpstream]) -> None:
    gw, ws = gateway
    with connect(f"ws://127.0.0.1:{gw.port}/ws/v1/ws?room=1") as conn:
        conn.send("hello")
        assert conn.recv(timeout=5) == "echo:hello"
        conn.send(b"\x00\x01binary" * 1000)
        assert conn.recv(timeout=5) == b"\x00\x01binary" * 1000
        for i in range(50):
            conn.send(f"m{i}")
        assert [conn.recv(timeout=5) for _ in range(50)] == [f"echo:m{i}" for i in range(50)]
    assert ws.paths[-1] == "/ws?room=1"


def test_a_large_websocket_message_streams_through(gateway: tuple[Any, WsUpstream]) -> None:
    gw, _ = gateway
    payload = b"z" * (4 * 1024 * 1024)
    with connect(f"ws://127.0.0.1:{gw.port}/ws/v1/ws", max_size=None, compression=None) as conn:
        conn.send(payload)
        assert conn.recv(timeout=20) == payload


def test_an_upgrade_the_upstream_refuses_is_relayed_then_closed(
    gateway: tuple[Any, WsUpstream],
) -> None:
    gw, _ = gateway
    with RawClient(gw.port) as c:
        r = c.request("GET", "/svc/v1/echo", {"Connection": "Upgrade", "Upgrade": "websocket"})
        assert r.status == 200  # the plain HTTP upstream just answers
        assert r.json()["headers"]["upgrade"] == "websocket"
        assert c.is_closed()


def test_the_gateway_still_serves_http_after_tunnels(gateway: tuple[Any, WsUpstream]) -> None:
    gw, _ = gateway
    for _ in range(5):
        with connect(f"ws://127.0.0.1:{gw.port}/ws/v1/ws") as conn:
            conn.send("x")
            conn.recv(timeout=5)
    with RawClient(gw.port) as c:
        assert c.request("GET", "/svc/v1/echo").status == 200
