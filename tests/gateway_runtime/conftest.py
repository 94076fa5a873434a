"""Fixtures that run the real gateway: `python -m gateway_runtime` as a child process.

`start_gateway(...)` starts one on free ports (proxy + admin), waits until /readyz answers
200 (or only /healthz with wait="alive" when no config is expected), and stops it at the end
of the test (SIGTERM, then SIGKILL). Its stdout/stderr go to a log file the test can read.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis as redis_lib

from portal.local_redis import LocalRedis, free_port, start_local_redis

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 20.0


def http_get(
    url: str, timeout: float = 2.0, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one request (GET by default); HTTP errors are answers."""
    request = urllib.request.Request(url, headers=headers or {}, method=method)  # noqa: S310 - http:// only
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_until(
    predicate: Callable[[], bool],
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str = "condition",
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.1f} s waiting for {message}")


@dataclass
class GatewayProcess:
    args: list[str]
    port: int
    admin_port: int
    state_dir: Path
    log_path: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    _log: Any = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def start(self) -> GatewayProcess:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "gateway_runtime", *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def admin(self, path: str) -> tuple[int, bytes]:
        try:
            status, _headers, body = http_get(self.admin_url + path, timeout=1.0)
        except OSError:
            return 0, b""
        return status, body

    def status(self) -> dict[str, Any]:
        code, body = self.admin("/status")
        assert code == 200, f"/status answered {code}"
        result: dict[str, Any] = json.loads(body)
        return result

    def wait(self, what: str = "ready", timeout: float = START_TIMEOUT_S) -> GatewayProcess:
        path = "/readyz" if what == "ready" else "/healthz"

        def answered() -> bool:
            if not self.alive():
                raise AssertionError(
                    f"gateway exited with {self.proc.returncode if self.proc else None}:\n"
                    + self.log()
                )
            return self.admin(path)[0] == 200 and self._proxy_accepts()

        wait_until(answered, timeout, 0.05, f"{path} on {self.admin_url} and the proxy port\n")
        return self

    def _proxy_accepts(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait (graceful); SIGKILL if it takes longer. Returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # supervisor and workers
                self.proc.wait(5)
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.proc.returncode


def gateway_env() -> dict[str, str]:
    """This process's environment for a gateway it starts: without the caller's gateway options
    (MESHGATE_GATEWAY_*), but with its choice of build, so a run of the suite with the pure-Python
    sources starts pure-Python gateways too."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MESHGATE_GATEWAY_") or k == "MESHGATE_GATEWAY_PURE_PYTHON"
    }


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m gateway_runtime ARGS` to completion, without the caller's gateway options."""
    clean = gateway_env()
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "gateway_runtime", *args],
        cwd=ROOT,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    """Factory: start_gateway(redis=URL | config=PATH, workers=1, wait="ready"|"alive"|None,
    state_dir=..., extra=[...], env={...}) -> a running GatewayProcess (stopped after the test).

    wait="alive": /healthz answers and the proxy port accepts; "ready": /readyz answers 200 too.
    """
    started: list[GatewayProcess] = []

    def start(
        *,
        redis: str | None = None,
        config: Path | None = None,
        workers: int = 1,
        wait: str | None = "ready",
        state_dir: Path | None = None,
        extra: list[str] | None = None,
        port: int | None = None,
        admin_port: int | None = None,
        gateway_id: str | None = None,
        env: dict[str, str] | None = None,
    ) -> GatewayProcess:
        port = port or free_port()
        admin_port = admin_port or free_port()
        state_dir = state_dir or tmp_path / "state"
        args = [
            "--listen",
            f"127.0.0.1:{port}",
            "--admin-listen",
            f"127.0.0.1:{admin_port}",
            "--workers",
            str(workers),
            "--state-dir",
            str(state_dir),
            "--gateway-id",
            gateway_id or f"test-gw:{port}",
            *(extra or []),
        ]
        args += ["--redis", redis] if redis else ["--config", str(config)]
        environ = gateway_env()
        environ.update(env or {})
        gateway = GatewayProcess(
            args, port, admin_port, state_dir, tmp_path / f"gateway-{len(started)}.log", environ
        )
        started.append(gateway.start())
        if wait is not None:
            gateway.wait(wait)
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


class PrivateRedis:
    """A Redis server of one test's own, which the test may stop and start again on the same port
    (the shared session server must never be killed)."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.tmp = tmp
        self.server: LocalRedis | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.server = start_local_redis(self.port, self.tmp / f"redis-{self.port}")
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def client(self) -> redis_lib.Redis:
        return redis_lib.Redis.from_url(self.url)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """Not started: call .start(). Stopped after the test."""
    server = PrivateRedis(tmp_path)
    yield server
    server.stop()


class _OkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per response and no Nagle: otherwise head and body go out in two segments
    # and delayed ACKs add ~40 ms to every request.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.rsplit("/", 1)[-1].startswith("slow"):  # ".../slow": answer after 1 s
            time.sleep(1.0)
        body = f"ok {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass


@pytest.fixture
def ok_upstream() -> Iterator[int]:
    """A real HTTP/1.1 keep-alive server answering 200 "ok <path>" (after 1 s for paths
    ending in /slow); yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OkHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(5)


class LoadResult:
    def __init__(self) -> None:
        self.ok = 0
        self.failures: list[str] = []
        self.statuses: dict[int, int] = {}


class Load:
    """Client threads sending GETs in a loop (keep-alive, reconnecting on close) until stopped."""

    def __init__(
        self, port: int, path: str, threads: int = 2, headers: dict[str, str] | None = None
    ) -> None:
        self.port, self.path, self.headers = port, path, headers or {}
        self.result = LoadResult()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)

    def wait_for(self, requests: int, timeout: float = 10.0) -> None:
        start = self.result.ok + len(self.result.failures)
        wait_until(
            lambda: self.result.ok + len(self.result.failures) >= start + requests,
            timeout,
            message=f"{requests} more requests",
        )

    def _run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        while not self._stop.is_set():
            try:
                conn.request("GET", self.path, headers=self.headers)
                response = conn.getresponse()
                response.read()
                outcome = response.status
            except (OSError, http.client.HTTPException) as error:
                outcome = -1
                detail = f"{type(error).__name__}: {error}"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            with self._lock:
                self.result.statuses[outcome] = self.result.statuses.get(outcome, 0) + 1
                if outcome == 200:
                    self.result.ok += 1
                else:
                    self.result.failures.append(detail if outcome == -1 else f"HTTP {outcome}")
        conn.close()
