"""Large bodies stream through a real gateway process with bounded memory: a 1 GiB upload grows the
worker's RSS by less than 50 MB (backpressure both ways), and so does a large download."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.gateway_runtime.proxy_harness import spawn_gateway, write_proxy_config
from tests.gateway_runtime.rawhttp import RawClient
from tests.gateway_runtime.upstreams import Upstream

GIB = 1 << 30
MB = 1 << 20


def worker_pid(supervisor_pid: int) -> int:
    """The one worker process forked by the supervisor."""
    children = Path(f"/proc/{supervisor_pid}/task/{supervisor_pid}/children").read_text().split()
    assert children, "the gateway has no worker process"
    return int(children[0])


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class RssSampler:
    """Samples a process's RSS every 20 ms in a thread; `peak` is the highest seen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss_bytes(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Upstream]]:
    tmp = tmp_path_factory.mktemp("gw-large")
    with Upstream("sink") as up:
        config = write_proxy_config(
            tmp / "snapshot.json", [up.port], max_body_bytes=2 * GIB, timeout_ms=600_000
        )
        gw = spawn_gateway(tmp, config)
        yield gw, up
        gw.stop()


def _warm(gw: Any) -> int:
    """A few requests so lazily created state exists before the baseline is taken."""
    with RawClient(gw.port) as c:
        for _ in range(20):
            assert c.request("POST", "/svc/v1/sink", body=b"x" * 300_000).status == 200
    assert gw.proc is not None
    return worker_pid(gw.proc.pid)


@pytest.mark.slow
def test_a_1gib_upload_streams_with_rss_growth_under_50mb(gateway: tuple[Any, Upstream]) -> None:
    gw, _ = gateway
    pid = _warm(gw)
    baseline = rss_bytes(pid)
    block = b"u" * MB
    with RssSampler(pid) as sampler, RawClient(gw.port, timeout=60) as c:
        c.send(b"POST /svc/v1/sink HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % GIB)
        started = time.monotonic()
        for _ in range(GIB // MB):
            c.sock.sendall(block)
        r = c.read_response()
        elapsed = time.monotonic() - started
    assert r.status == 200
    assert r.json() == {"received": GIB}
    growth = sampler.peak - baseline
    print(
        f"1 GiB upload in {elapsed:.1f} s, worker RSS {baseline / MB:.1f} MB "
        f"-> peak {sampler.peak / MB:.1f} MB (+{growth / MB:.1f} MB)"
    )
    assert growth < 50 * MB


@pytest.mark.slow
def test_a_chunked_256mib_upload_is_bounded_too(gateway: tuple[Any, Upstream]) -> None:
    gw, _ = gateway
    pid = _warm(gw)
    baseline = rss_bytes(pid)
    chunk = b"%x\r\n%s\r\n" % (MB, b"c" * MB)
    with RssSampler(pid) as sampler, RawClient(gw.port, timeout=60) as c:
        c.send(b"POST /svc/v1/sink HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(256):
            c.sock.sendall(chunk)
        c.sock.sendall(b"0\r\n\r\n")
        r = c.read_response()
    assert r.json() == {"received": 256 * MB}
    assert sampler.peak - baseline < 50 * MB


@pytest.mark.slow
def test_a_slow_reader_of_a_large_download_does_not_grow_memory(
    gateway: tuple[Any, Upstream],
) -> None:
    gw, _ = gateway
    pid = _warm(gw)
    baseline = rss_bytes(pid)
    size = 512 * MB
    with RssSampler(pid) as sampler:
        s = socket.create_connection(("127.0.0.1", gw.port), timeout=60)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.sendall(b"GET /svc/v1/big/%d HTTP/1.1\r\nHost: a\r\n\r\n" % size)
        time.sleep(1.0)  # the client reads nothing: the gateway must stop reading upstream
        stalled_peak = sampler.peak
        got = 0
        while got < size:
            data = s.recv(1 << 20)
            assert data
            got += len(data)
        s.close()
    assert stalled_peak - baseline < 50 * MB
    assert sampler.peak - baseline < 50 * MB
