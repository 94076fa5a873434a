"""The gateway's own Python cost per proxied request, without sockets, kernel or load generator.

    .venv/bin/python bench/hotpath_bench.py [--requests N] [--profile | --callgrind]

Builds the worker's real objects (ConfigStore with the benchmark snapshot, RuntimeState,
RateLimiter, Metrics, the proxy server from make_server_factory) inside a running uvloop
loop, connects client protocols and pooled upstream connections to in-memory transports,
and drives whole requests through them: request bytes into the client protocol, the
upstream's response bytes (nginx's exact head) into the upstream protocol. What is timed
is everything MeshGate does in Python for one request; syscalls, epoll and the event
loop's own dispatch are not in it (they are the same for nginx; see gateway_bench.py
--strace). Reports the best of many short batches, so a busy machine barely moves it:
the figure to watch while optimising the hot path. Also times Metrics.render(), which a
/metrics scrape runs on the worker's loop.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import uvloop

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR.parent))
sys.path.insert(0, str(BENCH_DIR))

import snapshot_gen  # noqa: E402

UPSTREAM_PORTS = [18081, 18082]
CONNECTIONS = 64
WARMUP = 2000  # requests before measuring: rate-limit keys, metrics series, caches
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 29 Nov 2026 10:00:00 GMT\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 3\r\nConnection: keep-alive\r\n"
    b"X-Upstream-Port: 18081\r\n\r\nok\n"
)


class MemoryTransport:
    """Just enough of an asyncio transport: writes are kept (last one) and counted."""

    def __init__(self, peer: tuple[str, int]) -> None:
        self.peer = peer
        self.last = b""
        self.writes = 0
        self.closed = False

    def write(self, data: bytes) -> None:
        self.last = data
        self.writes += 1

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.peer if name in ("peername", "sockname") else default

    def close(self) -> None:
        self.closed = True

    abort = close

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


def build_server(scratch: Path) -> Any:
    """The worker's proxy server over the benchmark snapshot, as worker.py builds it."""
    from gateway_runtime.config.store import ConfigStore
    from gateway_runtime.settings import parse_settings
    from gateway_runtime.worker_parts import build_parts

    settings = parse_settings(["--config", str(scratch / "snapshot.json"), "--workers", "1"], {})
    parts = build_parts(settings, redis_mode=False)
    store = ConfigStore(scratch / "state")
    store.on_swap(parts.on_swap)
    result = store.apply_now((scratch / "snapshot.json").read_bytes(), "hotpath-bench")
    if store.table is None:
        raise RuntimeError(f"the snapshot was refused: {result}")
    return parts.make_server(store, settings)


def fill_pool(server: Any) -> list[tuple[Any, MemoryTransport]]:
    """Pooled keep-alive connections to both instances, so no request has to connect."""
    from gateway_runtime.upstream.client import UpstreamConnection

    pool = server.dispatcher.pool
    conns = []
    for port in UPSTREAM_PORTS:
        key = ("http", "127.0.0.1", port)
        for _ in range(CONNECTIONS):
            conn = UpstreamConnection(pool, key)
            transport = MemoryTransport(("127.0.0.1", port))
            conn.connection_made(transport)
            pool.release(conn, 0.0)
            conns.append((conn, transport))
    return conns


def request_bytes(requests: list[snapshot_gen.BenchRequest]) -> list[bytes]:
    return [
        b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-API-Key: %s\r\n\r\n"
        % (r.path.encode(), r.key.encode())
        for r in requests
    ]


def drive(server: Any, conns: list[tuple[Any, MemoryTransport]], raws: list[bytes], n: int) -> None:
    """n requests, round robin over CONNECTIONS client connections, each answered at once."""
    clients = getattr(drive, "clients", None)
    if clients is None:
        clients = []
        for index in range(CONNECTIONS):
            protocol = server()
            transport = MemoryTransport(("127.0.0.1", 40000 + index))
            protocol.connection_made(transport)
            clients.append((protocol, transport))
        drive.clients = clients  # type: ignore[attr-defined]
    by_transport = {id(t): c for c, t in conns}
    flush = server.outbox.flush  # the end of a loop iteration (http/outbox.py)
    for i in range(n):
        client, client_transport = clients[i % CONNECTIONS]
        client.data_received(raws[i % len(raws)])
        flush()
        exchange = client.active.exchange if client.active is not None else None
        if exchange is None or exchange.conn is None:
            raise RuntimeError(f"request {i} was not forwarded: {client_transport.last[:200]!r}")
        upstream = by_transport[id(exchange.conn.transport)]
        upstream.data_received(RESPONSE)
        flush()
        if not client_transport.last.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"request {i} answered {client_transport.last[:200]!r}")


async def measure(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="meshgate-hotpath-") as scratch_name:
        scratch = Path(scratch_name)
        document = snapshot_gen.generate_snapshot(
            routes=1000, keys=10_000, upstream_ports=UPSTREAM_PORTS
        )
        (scratch / "snapshot.json").write_bytes(orjson.dumps(document))
        server = build_server(scratch)
        conns = fill_pool(server)
        raws = request_bytes(snapshot_gen.bench_requests(document, 256, 10_000))
        drive(server, conns, raws, WARMUP)  # warm up: rate-limit keys, metrics series, caches
        if args.profile:
            profile(server, conns, raws, max(args.requests, 5000))
            return
        best = float("inf")
        gc.collect()
        for _ in range(args.batches):
            started = time.perf_counter()
            drive(server, conns, raws, args.requests)
            best = min(best, (time.perf_counter() - started) / args.requests)
            await asyncio.sleep(0)  # let the ticks (rate-limit sync, scans) run between batches
        print(
            f"MeshGate hot path: {best * 1e6:.1f} us of Python per proxied request "
            f"(best of {args.batches} batches of {args.requests}; full chain, in memory)"
        )
        time_metrics_render(server)


def time_metrics_render(server: Any) -> None:
    """A /metrics scrape renders on the worker's loop: every in-flight request waits for it."""
    metrics = server.dispatcher.metrics
    if metrics is None:
        return
    best, body = float("inf"), b""
    for _ in range(5):
        started = time.perf_counter()
        body = metrics.render()
        best = min(best, time.perf_counter() - started)
    series = len(metrics.requests)
    print(f"Metrics.render(): {best * 1000:.1f} ms for {len(body)} bytes ({series} request series)")


def profile(server: Any, conns: list, raws: list[bytes], n: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    drive(server, conns, raws, n)
    profiler.disable()
    stats = pstats.Stats(profiler)
    calls = sum(v[1] for v in stats.stats.values()) / n  # type: ignore[attr-defined]
    print(f"{calls:.0f} Python-level calls per request")
    stats.sort_stats("tottime").print_stats(25)


# The C entry points of a request in the compiled build: callgrind counts only inside them.
_ENTRY_POINTS = (
    "__pyx_pw_15gateway_runtime_4http_10connection_14ClientProtocol_5data_received",
    "__pyx_pw_15gateway_runtime_8upstream_6client_18UpstreamConnection_7data_received",
    "__pyx_pw_15gateway_runtime_4http_6outbox_6Outbox_7flush",
)


def count_instructions(requests: int, batches: int, keep: str | None) -> None:
    """Instructions per request under callgrind: unlike time, the same count on a busy or a quiet
    machine, so a change worth 2 % shows (timings here move by 5-10 % between runs)."""
    import gateway_runtime

    hot_path = gateway_runtime.HOT_PATH
    if hot_path.mode != "compiled":
        sys.exit(f"--callgrind counts the compiled build; this one is {hot_path.describe()}")
    if shutil.which("valgrind") is None:
        sys.exit("--callgrind needs valgrind (apt-get install valgrind)")
    with tempfile.TemporaryDirectory(prefix="meshgate-callgrind-") as scratch:
        argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={scratch}/cg.out"]
        argv += [f"--toggle-collect={name}" for name in _ENTRY_POINTS]
        argv += [sys.executable, __file__, "--requests", str(requests), "--batches", str(batches)]
        env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict probes in every run
        out = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)  # noqa: S603
        if keep and out.returncode == 0:
            shutil.copyfile(f"{scratch}/cg.out", keep)  # for callgrind_annotate
    match = re.search(r"Collected : ([\d,]+)", out.stderr)
    if out.returncode != 0 or match is None:
        sys.exit(f"callgrind failed:\n{out.stderr[-2000:]}")
    total = int(match.group(1).replace(",", ""))
    driven = WARMUP + requests * batches
    print(f"MeshGate hot path: {total / driven:,.0f} instructions per proxied request (callgrind)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Short batches (~5 ms): on a shared machine some of them run undisturbed.
    parser.add_argument("--requests", type=int, default=200, help="requests per batch")
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="cProfile one batch instead")
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="count instructions per request under valgrind instead of timing (about 30 s)",
    )
    parser.add_argument(
        "--callgrind-out", metavar="FILE", help="with --callgrind: keep callgrind's output there"
    )
    args = parser.parse_args()
    if args.callgrind:
        count_instructions(args.requests, 10, args.callgrind_out)
        return
    uvloop.run(measure(args))


if __name__ == "__main__":
    main()
