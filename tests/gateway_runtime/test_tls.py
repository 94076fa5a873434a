"""TLS termination at the gateway: a real `python -m gateway_runtime --tls-cert/--tls-key` process,
real HTTPS clients verifying against a test CA, the upstream seeing https, SIGHUP reloads."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from gateway_runtime.settings import parse_settings
from portal.local_redis import free_port
from tests.gateway_runtime.certs import TestCA, peer_serial
from tests.gateway_runtime.conftest import ROOT, GatewayProcess, gateway_env, wait_until
from tests.gateway_runtime.proxy_harness import write_proxy_config
from tests.gateway_runtime.upstreams import Upstream, WsUpstream

# The sub-second timers of the tests that are about them. The shared gateway keeps the defaults:
# on a loaded machine a 1 s header timeout can cut an ordinary handshake before its request.
SHORT_TIMERS = ("--header-timeout", "1", "--idle-timeout", "0.5")


def _spawn_tls(
    tmp: Path, config: Path, cert: Path, key: Path, timers: tuple[str, ...] = ()
) -> GatewayProcess:
    port, admin_port = free_port(), free_port()
    args = [
        *("--listen", f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{admin_port}"),
        *("--workers", "1", "--state-dir", str(tmp / f"state-{port}"), "--config", str(config)),
        *("--tls-cert", str(cert), "--tls-key", str(key), *timers),
    ]
    env = gateway_env()
    state = tmp / f"state-{port}"
    gateway = GatewayProcess(args, port, admin_port, state, tmp / f"gw-{port}.log", env)
    return gateway.start().wait()


class TlsSetup:
    def __init__(self, tmp: Path, ca: TestCA, gw: GatewayProcess, up: Upstream) -> None:
        self.tmp, self.ca, self.gw, self.up = tmp, ca, gw, up

    def https(self, context: ssl.SSLContext | None = None) -> http.client.HTTPSConnection:
        ctx = context or self.ca.client_context()
        return http.client.HTTPSConnection("127.0.0.1", self.gw.port, context=ctx, timeout=5)

    def tls_socket(self, context: ssl.SSLContext | None = None) -> ssl.SSLSocket:
        raw = socket.create_connection(("127.0.0.1", self.gw.port), timeout=5)
        return (context or self.ca.client_context()).wrap_socket(raw, server_hostname="localhost")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsSetup]:
    tmp = tmp_path_factory.mktemp("gw-tls")
    ca = TestCA(tmp)
    cert, key, _ = ca.issue("server")
    ws = WsUpstream().start()
    with Upstream("a") as up:
        config = write_proxy_config(tmp / "snapshot.json", [up.port], ws_port=ws.port)
        gw = _spawn_tls(tmp, config, cert, key)
        yield TlsSetup(tmp, ca, gw, up)
        gw.stop()
    ws.stop()


def _echo(conn: http.client.HTTPSConnection, path: str = "/svc/v1/echo") -> dict[str, Any]:
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200, body
    result: dict[str, Any] = json.loads(body)
    return result


def test_https_requests_verify_against_the_ca_and_the_upstream_sees_https(tls: TlsSetup) -> None:
    conn = tls.https()
    try:
        first = _echo(conn)
        second = _echo(conn, "/svc/v1/echo/again")  # keep-alive over the same TLS session
        sock = conn.sock
        assert isinstance(sock, ssl.SSLSocket)
        assert sock.version() in ("TLSv1.2", "TLSv1.3")
    finally:
        conn.close()
    assert first["headers"]["x-forwarded-proto"] == "https"
    assert first["headers"]["x-forwarded-for"] == "127.0.0.1"  # peer address through TLS
    assert "proto=https" in first["headers"]["forwarded"]
    assert second["target"] == "/echo/again"


def test_alpn_selects_http_1_1(tls: TlsSetup) -> None:
    context = tls.ca.client_context()
    context.set_alpn_protocols(["h2", "http/1.1"])
    with tls.tls_socket(context) as sock:
        assert sock.selected_alpn_protocol() == "http/1.1"


def test_a_client_that_does_not_trust_the_ca_fails_verification(tls: TlsSetup) -> None:
    conn = http.client.HTTPSConnection("127.0.0.1", tls.gw.port, timeout=5)  # system CAs only
    with pytest.raises(ssl.SSLCertVerificationError):
        conn.request("GET", "/svc/v1/echo")
    conn.close()


def test_tls_below_1_2_is_refused(tls: TlsSetup) -> None:
    context = tls.ca.client_context()
    with warnings.catch_warnings():  # TLSv1_1 is deprecated: that is the point of the test
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let the client offer 1.1: the server must refuse
    with pytest.raises(ssl.SSLError) as caught:
        tls.tls_socket(context)
    # the server hangs up on the 1.1 ClientHello (a client-side refusal would say NO_PROTOCOLS)
    assert "NO_PROTOCOLS_AVAILABLE" not in str(caught.value)


def test_plain_http_to_the_tls_port_is_closed_cleanly(tls: TlsSetup) -> None:
    with socket.create_connection(("127.0.0.1", tls.gw.port), timeout=3) as sock:
        sock.sendall(b"GET /svc/v1/echo HTTP/1.1\r\nHost: a\r\n\r\n")
        started = time.monotonic()
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            data = b""
        # no HTTP answer leaks in clear text (at most a TLS alert record, type 0x15)
        assert data == b"" or data[:1] == b"\x15"
        assert time.monotonic() - started < 2.5
    assert _echo(tls.https())["headers"]["x-forwarded-proto"] == "https"
    assert "Traceback" not in tls.gw.log()


def test_a_stalled_handshake_is_cut_at_the_header_timeout(tmp_path: Path, ok_upstream: int) -> None:
    ca = TestCA(tmp_path)
    cert, key, _ = ca.issue("server")
    config = write_proxy_config(tmp_path / "s.json", [ok_upstream])
    gw = _spawn_tls(tmp_path, config, cert, key, SHORT_TIMERS)
    try:
        with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as sock:
            started = time.monotonic()
            with contextlib.suppress(ConnectionResetError):
                assert sock.recv(1) == b""
            assert 0.8 < time.monotonic() - started < 3.0  # --header-timeout 1
    finally:
        gw.stop()


def test_a_websocket_session_runs_over_tls(tls: TlsSetup) -> None:
    url = f"wss://127.0.0.1:{tls.gw.port}/ws/v1/ws"
    with connect(url, ssl=tls.ca.client_context(), server_hostname="localhost") as conn:
        conn.send("hello")
        assert conn.recv(timeout=5) == "echo:hello"


def test_idle_closed_tls_connections_are_released_though_the_client_never_reads(
    tmp_path: Path, ok_upstream: int
) -> None:
    ca = TestCA(tmp_path)
    cert, key, _ = ca.issue("server")
    config = write_proxy_config(tmp_path / "s.json", [ok_upstream])
    gw = _spawn_tls(tmp_path, config, cert, key, SHORT_TIMERS)
    clients = [TlsSetup(tmp_path, ca, gw, None).https() for _ in range(3)]  # type: ignore[arg-type]
    try:
        for conn in clients:  # one answer each, then the pooled client just sits there
            conn.request("GET", "/svc/v1/echo")
            conn.getresponse().read()
        # --idle-timeout 0.5, then the TLS shutdown gives up waiting for the client's
        # close_notify after tls.SHUTDOWN_TIMEOUT_S (asyncio's default, 30 s, fails this)
        wait_until(lambda: gw.status()["connections"] == 0, 9, 0.2, "connections released")
    finally:
        for conn in clients:
            conn.close()
        gw.stop()


def test_sighup_reloads_the_certificate_and_keeps_the_old_one_on_a_bad_pair(
    tmp_path: Path, ok_upstream: int
) -> None:
    ca = TestCA(tmp_path)
    cert, key, old_serial = ca.issue("live")
    gw = _spawn_tls(tmp_path, write_proxy_config(tmp_path / "s.json", [ok_upstream]), cert, key)
    setup = TlsSetup(tmp_path, ca, gw, None)  # type: ignore[arg-type]
    try:
        with setup.tls_socket() as sock:
            assert peer_serial(sock) == old_serial
        new_cert, new_key, new_serial = ca.issue("next", common_name="rotated")
        os.replace(new_cert, cert)
        os.replace(new_key, key)
        assert gw.proc is not None
        gw.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: _serial(setup) == new_serial, 10, 0.1, "the new certificate")
        assert gw.status()["tls"]["last_error"] is None

        key.write_text("not a key\n")
        gw.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: gw.status()["tls"]["last_error"] is not None, 10, 0.1, "last_error")
        assert "--tls-key" in gw.status()["tls"]["last_error"]
        assert _serial(setup) == new_serial  # still serving the last good pair
    finally:
        gw.stop()


def _serial(setup: TlsSetup) -> int:
    with setup.tls_socket() as sock:
        return peer_serial(sock)


def test_the_tls_files_can_come_from_the_environment(tmp_path: Path) -> None:
    cert, key, _ = TestCA(tmp_path).issue("server")
    env = {"MESHGATE_GATEWAY_TLS_CERT": str(cert), "MESHGATE_GATEWAY_TLS_KEY": str(key)}
    settings = parse_settings(["--redis", "redis://r"], env)
    assert (settings.tls_cert, settings.tls_key) == (cert, key)
    assert parse_settings(["--redis", "redis://r"], {}).tls_cert is None


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = gateway_env()
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "gateway_runtime", "--redis", "redis://x", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_missing_certificate_file_exits_2_naming_the_option(tmp_path: Path) -> None:
    _, key, _ = TestCA(tmp_path).issue("k")
    result = _run("--tls-cert", str(tmp_path / "missing.crt"), "--tls-key", str(key))
    assert result.returncode == 2
    assert "--tls-cert: cannot read" in result.stderr and "missing.crt" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "case, message",
    [
        ("garbage-cert", "--tls-cert: '{cert}' holds no PEM certificate"),
        ("garbage-key", "--tls-key: '{key}' holds no PEM private key"),
        ("other-key", "--tls-key: '{key}' does not match the certificate in --tls-cert"),
        ("cert-only", "--tls-cert needs --tls-key as well"),
        ("key-only", "--tls-key needs --tls-cert as well"),
    ],
)
def test_bad_tls_files_exit_2_naming_the_option(tmp_path: Path, case: str, message: str) -> None:
    ca = TestCA(tmp_path)
    cert, key, _ = ca.issue("server")
    _, other_key, _ = ca.issue("other")
    if case == "garbage-cert":
        cert.write_text("hello\n")
    elif case == "garbage-key":
        key.write_bytes(cert.read_bytes())
    elif case == "other-key":
        key = other_key
    args = {
        "cert-only": ["--tls-cert", str(cert)],
        "key-only": ["--tls-key", str(key)],
    }.get(case, ["--tls-cert", str(cert), "--tls-key", str(key)])
    result = _run(*args)
    assert result.returncode == 2, result.stderr
    assert message.format(cert=cert, key=key) in result.stderr
