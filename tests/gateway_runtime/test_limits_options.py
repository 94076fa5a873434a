"""Client limits as options (--max-header-bytes, timeouts, --max-pipeline) and the WebSocket idle
timeout: validation at the command line, and their effect on a real gateway process."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from gateway_runtime.http.server import HttpLimits
from gateway_runtime.settings import parse_settings
from tests.gateway_runtime.conftest import run_cli
from tests.gateway_runtime.proxy_harness import LocalGateway, proxy_document, write_proxy_config
from tests.gateway_runtime.rawhttp import RawClient
from tests.gateway_runtime.upstreams import Upstream, WsUpstream


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli("--redis", "redis://x", *args, env=env)


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--max-header-bytes", "100", "a whole number from 1024 to 1048576"),
        ("--max-header-bytes", "16k", "a whole number from 1024 to 1048576"),
        ("--header-timeout", "0", "seconds from 0.1 to 3600"),
        ("--body-timeout", "-5", "seconds from 0.1 to 3600"),
        ("--idle-timeout", "soon", "seconds from 0.1 to 86400"),
        ("--idle-timeout", "nan", "seconds from 0.1 to 86400"),
        ("--max-pipeline", "0", "a whole number from 1 to 1024"),
        ("--max-pipeline", "2.5", "a whole number from 1 to 1024"),
        ("--websocket-idle-timeout", "-1", "seconds from 0 to 604800"),
        ("--websocket-idle-timeout", "inf", "seconds from 0 to 604800"),
    ],
)
def test_a_bad_limit_exits_2_naming_the_option(option: str, value: str, message: str) -> None:
    result = _run(option, value)
    assert result.returncode == 2
    assert f"{option}: {value!r} must be {message}" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_limits_reach_http_limits_from_options_and_env() -> None:
    settings = parse_settings(
        ["--redis", "redis://r", "--max-header-bytes", "2048", "--idle-timeout", "1.5"],
        {
            "MESHGATE_GATEWAY_HEADER_TIMEOUT": "4",
            "MESHGATE_GATEWAY_BODY_TIMEOUT": "6",
            "MESHGATE_GATEWAY_MAX_PIPELINE": "3",
            "MESHGATE_GATEWAY_WEBSOCKET_IDLE_TIMEOUT": "0",
        },
    )
    assert HttpLimits.from_settings(settings) == HttpLimits(
        max_header_bytes=2048,
        header_timeout=4.0,
        idle_timeout=1.5,
        body_timeout=6.0,
        max_pipeline=3,
        websocket_idle_timeout=0.0,
    )


def test_the_defaults_are_http_limits_defaults() -> None:
    assert HttpLimits.from_settings(parse_settings(["--redis", "redis://r"], {})) == HttpLimits()


# -- a real gateway process started with small limits ------------------------------------------
@pytest.fixture
def small_limits_gateway(
    start_gateway: Callable[..., Any], tmp_path: Path
) -> Iterator[tuple[Any, WsUpstream]]:
    ws = WsUpstream().start()
    up = Upstream("a").start()
    config = write_proxy_config(tmp_path / "snapshot.json", [up.port], ws_port=ws.port)
    limits = ["--max-header-bytes", "2048", "--idle-timeout", "0.5"]
    try:
        gw = start_gateway(config=config, extra=[*limits, "--websocket-idle-timeout", "1"])
        yield gw, ws
    finally:
        up.stop()
        ws.stop()


def test_a_small_max_header_bytes_gives_431(small_limits_gateway: tuple[Any, WsUpstream]) -> None:
    gw, _ = small_limits_gateway
    with RawClient(gw.port) as c:
        assert c.request("GET", "/svc/v1/echo", {"X-Pad": "v" * 1500}).status == 200
    with RawClient(gw.port) as c:  # over 2048 here, far below the 16 KiB default
        r = c.request("GET", "/svc/v1/echo", {"X-Pad": "v" * 3000})
        assert r.status == 431
        assert c.is_closed()


def test_a_short_idle_timeout_closes_an_idle_keep_alive_connection(
    small_limits_gateway: tuple[Any, WsUpstream],
) -> None:
    gw, _ = small_limits_gateway
    with RawClient(gw.port) as c:
        assert c.request("GET", "/svc/v1/echo").status == 200
        started = time.monotonic()
        assert not c.is_closed(timeout=0.3)  # still open shortly after the answer
        assert c.is_closed(timeout=3.0)
        assert 0.4 < time.monotonic() - started < 1.5  # --idle-timeout 0.5 (+ the 0.1 s scan)


def test_an_idle_websocket_is_closed_by_the_scan(
    small_limits_gateway: tuple[Any, WsUpstream],
) -> None:
    gw, _ = small_limits_gateway
    with connect(f"ws://127.0.0.1:{gw.port}/ws/v1/ws") as busy:
        for i in range(8):  # 2 s of traffic every 0.25 s: never idle for 1 s
            busy.send(f"m{i}")
            assert busy.recv(timeout=5) == f"echo:m{i}"
            time.sleep(0.25)
    with connect(f"ws://127.0.0.1:{gw.port}/ws/v1/ws") as idle:
        idle.send("once")
        assert idle.recv(timeout=5) == "echo:once"
        started = time.monotonic()
        with pytest.raises(ConnectionClosed):
            idle.recv(timeout=5)
        assert 0.8 < time.monotonic() - started < 2.0  # --websocket-idle-timeout 1


# -- in-process (real sockets): 0 means no WebSocket idle timeout ---------------------------------
def test_a_zero_websocket_idle_timeout_never_closes_a_tunnel() -> None:
    limits = HttpLimits(websocket_idle_timeout=0)
    ws = WsUpstream().start()
    try:
        with (
            Upstream("a") as up,
            LocalGateway(proxy_document([up.port], ws_port=ws.port), limits=limits) as gw,
            connect(f"ws://127.0.0.1:{gw.port}/ws/v1/ws") as conn,
        ):
            conn.send("hi")
            assert conn.recv(timeout=5) == "echo:hi"
            time.sleep(1.5)  # 15 scans with nothing moving
            assert gw.call(lambda: sum(c.tunnel is not None for c in gw.server.connections)) == 1
            _assert_open(conn)
    finally:
        ws.stop()


def _assert_open(conn: ClientConnection) -> None:
    conn.send("still")
    assert conn.recv(timeout=5) == "echo:still"
